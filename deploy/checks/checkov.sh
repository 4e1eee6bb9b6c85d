#!/usr/bin/env bash
# checkov on the Terraform in deploy/ and on the Dockerfile. Zero failed checks is the bar:
# every accepted finding is skipped in the code, next to its resource, with its reason
# (`#checkov:skip=CKV_...:reason`).
#
# checkov lives in its own virtualenv (.tools/checkov, git-ignored): it pins its own boto3 and
# dozens of other packages that must not mix with the project's. The first run on a fresh machine
# installs it from PyPI (about half a minute); later runs reuse it.
set -euo pipefail

CHECKOV_VERSION="3.3.30"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
VENV="${CHECKOV_VENV:-$ROOT/.tools/checkov}"
CHECKOV="$VENV/bin/checkov"
PYTHON="${PYTHON:-python3}"

installed_version() {
  if [ -x "$VENV/bin/python" ]; then
    "$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("checkov"))' 2>/dev/null || true
  fi
}

if [ "$(installed_version)" != "$CHECKOV_VERSION" ]; then
  echo "checkov: installing checkov==$CHECKOV_VERSION into $VENV (first run only)"
  log="$(mktemp)"
  if ! { "$PYTHON" -m venv "$VENV" \
      && "$VENV/bin/python" -m pip install --disable-pip-version-check --upgrade pip \
      && "$VENV/bin/python" -m pip install --disable-pip-version-check "checkov==$CHECKOV_VERSION"; } >"$log" 2>&1; then
    cat "$log" >&2
    echo "checkov: installation failed" >&2
    exit 1
  fi
  rm -f "$log"
fi

cd "$ROOT"
# --skip-download: use the checks bundled with this pinned version, fetch nothing from the
# vendor's platform (these machines reach package registries only).
export BC_SKIP_MAPPING=TRUE LOG_LEVEL="${CHECKOV_LOG_LEVEL:-ERROR}"
echo "checkov: terraform in deploy/"
"$CHECKOV" --directory deploy --framework terraform --skip-download --quiet --compact
echo "checkov: Dockerfile"
"$CHECKOV" --file Dockerfile --framework dockerfile --skip-download --quiet --compact
