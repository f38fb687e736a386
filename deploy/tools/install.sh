#!/usr/bin/env bash
# Installs the tools that validate the deploy tree offline (make test-deploy), from package
# registries only: helm, actionlint, hclfmt and controller-gen built from the Go module proxy,
# checkov in its own venv (its pins clash with the workspace's), the Flink operator's CRD from
# Maven Central, Argo Rollouts' and KEDA's CRDs generated from their Go modules' API types, the
# AsyncAPI 3.0 spec's JSON Schema from npm (tests/contracts validate the event document with it).
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
  sigs.k8s.io/controller-tools/cmd/controller-gen@v0.19.0
)
CHECKOV_VERSION=3.3.30
FLINK_OPERATOR_VERSION=1.10.0
# Argo Rollouts and KEDA publish their CRDs only as files of their repositories; controller-gen
# (the generator both use) writes them from the API types of their released Go modules. The
# versions are the controllers' that deploy/argocd/apps installs (ADR 0021).
ARGO_ROLLOUTS_VERSION=v1.8.3
KEDA_VERSION=v2.21.0
ASYNCAPI_SPECS_VERSION=6.11.1  # npm @asyncapi/specs: ships schemas/3.0.0-without-$id.json

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

step "asyncapi specs $ASYNCAPI_SPECS_VERSION"; t=$(date +%s)
specs=$TOOLS/asyncapi-specs
if stamp_ok asyncapi-specs "$ASYNCAPI_SPECS_VERSION" && [ -f "$specs/schemas/3.0.0-without-\$id.json" ]; then
  echo "ok (present)"
else
  # npm pack fetches the tarball through the registry client; nothing is installed or run.
  { rm -rf "$specs" && mkdir -p "$specs" \
    && tarball=$(cd "$specs" && npm pack --silent "@asyncapi/specs@$ASYNCAPI_SPECS_VERSION") \
    && tar -xzf "$specs/$tarball" -C "$specs" --strip-components=1 package/schemas package/package.json \
    && rm "$specs/$tarball"; } >"$TOOLS/asyncapi-specs.log" 2>&1 \
    || { echo "FAILED: see $TOOLS/asyncapi-specs.log"; exit 1; }
  echo "$ASYNCAPI_SPECS_VERSION" > "$TOOLS/asyncapi-specs.stamp"; done_in "$t"
fi

# CRDs from a Go module's API package: a throwaway module imports the package like any dependency
# (go get + go mod tidy through the module proxy) and controller-gen writes every CRD it defines.
# Usage: crds_from_go NAME MODULE VERSION PACKAGE CRD_OPTIONS
crds_from_go() {
  local name=$1 module=$2 version=$3 package=$4 options=$5
  local out=$TOOLS/crds/$name.yaml work=$TOOLS/crdgen/$name t
  step "$name CRDs $version"; t=$(date +%s)
  if stamp_ok "$name-crds" "$version" && [ -s "$out" ]; then echo "ok (present)"; return; fi
  ( rm -rf "$work" && mkdir -p "$work" && cd "$work" \
    && printf 'module cloudmart.local/crdgen/%s\n\ngo 1.26\n' "$name" > go.mod \
    && printf 'package crdgen\n\nimport _ "%s"\n' "$package" > api.go \
    && GOFLAGS=-mod=mod go get "$module@$version" && GOFLAGS=-mod=mod go mod tidy \
    && "$TOOLS/bin/controller-gen" "paths=$package" "$options" output:crd:stdout > "$out.tmp" \
    && grep -q '^kind: CustomResourceDefinition' "$out.tmp" ) >"$TOOLS/$name-crds.log" 2>&1 \
    || { echo "FAILED: see $TOOLS/$name-crds.log"; exit 1; }
  mv "$out.tmp" "$out"
  echo "$version" > "$TOOLS/$name-crds.stamp"; done_in "$t"
}
crds_from_go argo-rollouts github.com/argoproj/argo-rollouts "$ARGO_ROLLOUTS_VERSION" \
  github.com/argoproj/argo-rollouts/pkg/apis/rollouts/v1alpha1 crd:crdVersions=v1
# generateEmbeddedObjectMeta: as KEDA's Makefile generates them.
crds_from_go keda github.com/kedacore/keda/v2 "$KEDA_VERSION" \
  github.com/kedacore/keda/v2/apis/keda/v1alpha1 crd:crdVersions=v1,generateEmbeddedObjectMeta=true
