#!/usr/bin/env bash
# Offline checks of the deployment code, for `make lint` / `make test` and CI:
#   1. terraform fmt -check on deploy/ (terraform must be on PATH; it needs no provider for this)
#   2. checkov on deploy/ (Terraform) and on the Dockerfile (installs itself on first use)
# `terraform init/validate/plan` need the provider registry and an AWS account: they run in the
# GitHub workflow (.github/workflows/terraform.yml), not here.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
cd "$ROOT"
# Without a CLI configuration terraform warns on every call; an empty one is enough for fmt.
if [ ! -e "${TF_CLI_CONFIG_FILE:-$HOME/.terraformrc}" ]; then
  TF_CLI_CONFIG_FILE="$(mktemp)"
  export TF_CLI_CONFIG_FILE
  trap 'rm -f "$TF_CLI_CONFIG_FILE"' EXIT
fi

if command -v terraform >/dev/null 2>&1; then
  echo "deploy checks: terraform fmt -check -recursive deploy/ ($(terraform version | head -n1))"
  if ! terraform fmt -check -recursive -diff deploy/; then
    echo "deploy checks: run 'terraform fmt -recursive deploy/' and commit the result" >&2
    exit 1
  fi
elif [ "${REQUIRE_TERRAFORM:-0}" = "1" ]; then
  echo "deploy checks: terraform is not installed (REQUIRE_TERRAFORM=1)" >&2
  exit 1
else
  echo "deploy checks: WARNING terraform not on PATH, formatting not checked" >&2
fi

started=$(date +%s)
bash "$ROOT/deploy/checks/checkov.sh"
echo "deploy checks: checkov passed in $(( $(date +%s) - started )) s"
