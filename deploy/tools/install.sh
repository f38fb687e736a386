#!/usr/bin/env bash
# Installs the tools that validate the deploy tree offline (make test-deploy), from package
# registries only: helm, actionlint and hclfmt built from the Go module proxy, checkov in its own
# venv (its pins clash with the workspace's), the Flink operator's CRD from Maven Central.
# A second run only checks (stamps). See docs/adr/0015-deploy-validation.md.
set -euo pipefail
cd "$(dirname "$0")/../.."
TOOLS=$PWD/.cloudmart/tools
export UV_PYTHON_DOWNLOADS=never
mkdir -p "$TOOLS/bin" "$TOOLS/venvs" "$TOOLS/crds"

GO_TOOLS=(
  helm.sh/helm/v4/cmd/helm@v4.3.1
  github.com/rhysd/actionlint/cmd/actionlint@v1.7.12
  github.com/hashicorp/hcl/v2/cmd/hclfmt@v2.25.0
)
CHECKOV_VERSION=3.3.30
FLINK_OPERATOR_VERSION=1.10.0

step() { printf '  %-28s' "$1"; }
done_in() { printf 'ok (%ss)\n' "$(( $(date +%s) - $1 ))"; }
stamp_ok() { [ -f "$TOOLS/$1.stamp" ] && [ "$(cat "$TOOLS/$1.stamp")" = "$2" ]; }

echo "deploy tools"
for module in "${GO_TOOLS[@]}"; do
  name=$(basename "${module%@*}"); version=${module#*@}
  step "$name $version"; t=$(date +%s)
  if stamp_ok "$name" "$version" && [ -x "$TOOLS/bin/$name" ]; then echo "ok (present)"; else
    GOBIN=$TOOLS/bin GOFLAGS=-buildvcs=false go install -ldflags "-s -w" "$module" \
      >"$TOOLS/$name-build.log" 2>&1 || { echo "FAILED: see $TOOLS/$name-build.log"; exit 1; }
    echo "$version" > "$TOOLS/$name.stamp"; done_in "$t"
  fi
done

step "checkov $CHECKOV_VERSION"; t=$(date +%s)
venv=$TOOLS/venvs/checkov
if stamp_ok checkov "$CHECKOV_VERSION" && [ -x "$venv/bin/checkov" ]; then echo "ok (present)"; else
  { uv venv --quiet --clear --python 3.11 "$venv" \
    && uv pip install --quiet --python "$venv/bin/python" "checkov==$CHECKOV_VERSION"; } \
    >"$TOOLS/checkov-install.log" 2>&1 || { echo "FAILED: see $TOOLS/checkov-install.log"; exit 1; }
  echo "$CHECKOV_VERSION" > "$TOOLS/checkov.stamp"; done_in "$t"
fi

step "flink operator CRD"; t=$(date +%s)
crd=$TOOLS/crds/flinkdeployments.flink.apache.org-v1.yml
if stamp_ok flink-crd "$FLINK_OPERATOR_VERSION" && [ -f "$crd" ]; then echo "ok (present)"; else
  mvn -q -B dependency:copy \
    "-Dartifact=org.apache.flink:flink-kubernetes-operator-api:$FLINK_OPERATOR_VERSION" \
    "-DoutputDirectory=$TOOLS/crds" >"$TOOLS/flink-crd.log" 2>&1 \
    || { echo "FAILED: see $TOOLS/flink-crd.log"; exit 1; }
  unzip -p "$TOOLS/crds/flink-kubernetes-operator-api-$FLINK_OPERATOR_VERSION.jar" \
    META-INF/fabric8/flinkdeployments.flink.apache.org-v1.yml > "$crd"
  echo "$FLINK_OPERATOR_VERSION" > "$TOOLS/flink-crd.stamp"; done_in "$t"
fi
