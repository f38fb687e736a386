#!/usr/bin/env bash
# Terraform $TF_VERSION for a CI job, from HashiCorp's releases, checked against the release's
# SHA256SUMS before it is unpacked onto the PATH.
set -euo pipefail
: "${TF_VERSION:?set TF_VERSION}"
work=$(mktemp -d)
cd "$work"
base="https://releases.hashicorp.com/terraform/$TF_VERSION"
zip="terraform_${TF_VERSION}_linux_amd64.zip"
curl -fsSLO "$base/$zip"
curl -fsSLO "$base/terraform_${TF_VERSION}_SHA256SUMS"
grep " $zip\$" "terraform_${TF_VERSION}_SHA256SUMS" | sha256sum --check --strict
mkdir -p "$HOME/.local/bin"
unzip -o -q "$zip" -d "$HOME/.local/bin"
echo "$HOME/.local/bin" >> "${GITHUB_PATH:-/dev/null}"
"$HOME/.local/bin/terraform" version
