#!/usr/bin/env bash
# The AWS provider's schema, offline: the @cdktf/provider-aws npm package carries it in its
# .jsii file (21.22.1 is provider 6.25.0). Fetched once into .tools/provider-aws/ for the schema
# test (tests/deploy/test_terraform_schema.py); without npm the test skips and says so.
set -euo pipefail

VERSION="21.22.1"
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
TARGET="$ROOT/.tools/provider-aws/$VERSION"
[ -s "$TARGET/.jsii" ] && exit 0
if ! command -v npm >/dev/null 2>&1; then
  echo "provider schema: npm not found, the Terraform schema test will skip" >&2
  exit 0
fi
mkdir -p "$TARGET"
cd "$TARGET"
npm pack "@cdktf/provider-aws@$VERSION" --silent >/dev/null
tar -xzf "cdktf-provider-aws-$VERSION.tgz" package/.jsii
mv package/.jsii .jsii
rm -rf package "cdktf-provider-aws-$VERSION.tgz"
echo "provider schema: @cdktf/provider-aws $VERSION in .tools/provider-aws/$VERSION"
