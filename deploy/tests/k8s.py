"""Rendering and validating Kubernetes manifests offline, for test_helm.py and test_argocd.py.

Core kinds are validated by kubernetes_validate (strict: unknown fields fail); custom resources
by JSON Schemas: FlinkDeployment, Rollout, AnalysisTemplate and ScaledObject from their
projects' CRDs (installed by deploy/tools/install.sh), the Prometheus Operator and Argo CD kinds
from the hand-written schemas in deploy/tests/schemas. A kind with neither fails.
"""

import json
import os
import subprocess
import tempfile
from collections.abc import Iterable
from functools import cache
from pathlib import Path
from typing import Any

import jsonschema
import kubernetes_validate  # type: ignore[import-untyped]
import yaml

from deploy.tests.tools import ARGO_ROLLOUTS_CRDS, FLINK_CRD, KEDA_CRDS, ROOT, tool

KUBE_VERSION = "1.30"
HELM_DIR = ROOT / "deploy" / "helm"
CHART = HELM_DIR / "cloudmart"
MONITORING_CHART = HELM_DIR / "cloudmart-monitoring"
SCHEMAS = Path(__file__).resolve().parent / "schemas"
NAMESPACE = "cloudmart"

Manifest = dict[str, Any]

# The only Flink operator CRD obtainable offline is 1.10.0's, whose flinkVersion enum ends at
# v1_20; analytics/ is Flink 2.2 and needs an operator that knows v2_2. The enum is widened by
# exactly these values; everything else is the CRD's own schema.
FLINK_VERSIONS_NEWER_THAN_CRD = ("v2_0", "v2_1", "v2_2")

# Custom resources validated against CRDs that install.sh generates from the projects' Go modules.
GENERATED_CRDS = {
    ("Rollout", "argoproj.io/v1alpha1"): ARGO_ROLLOUTS_CRDS,
    ("AnalysisTemplate", "argoproj.io/v1alpha1"): ARGO_ROLLOUTS_CRDS,
    ("ScaledObject", "keda.sh/v1alpha1"): KEDA_CRDS,
}


def helm_env() -> dict[str, str]:
    """Helm with its cache, config and data in a fresh temporary place: no user state leaks in."""
    home = Path(tempfile.mkdtemp(prefix="helm-home-"))
    return {
        **os.environ,
        "HELM_CACHE_HOME": str(home / "cache"),
        "HELM_CONFIG_HOME": str(home / "config"),
        "HELM_DATA_HOME": str(home / "data"),
    }


def helm(*args: str | Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(tool("helm")), *(str(arg) for arg in args)],
        capture_output=True,
        text=True,
        check=False,
        env=helm_env(),
        cwd=ROOT,
    )


def value_args(chart: Path, environment: str | None) -> list[str]:
    files = [chart / "values.yaml"]
    if environment is not None:
        files.append(chart / f"values-{environment}.yaml")
        # Where things are, as Terraform wrote it (the main chart only).
        platform = chart / f"values-{environment}-platform.yaml"
        if platform.is_file():
            files.append(platform)
    return [arg for path in files for arg in ("-f", str(path))]


def render(
    chart: Path, environment: str | None, *extra: str, namespace: str = NAMESPACE
) -> list[Manifest]:
    """`helm template` of a chart with values.yaml (+ values-<environment>.yaml, + extra args)."""
    result = helm(
        "template",
        chart.name,
        chart,
        "--namespace",
        namespace,
        "--kube-version",
        f"{KUBE_VERSION}.0",
        *value_args(chart, environment),
        *extra,
    )
    assert result.returncode == 0, result.stderr
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]


def load_manifests(paths: Iterable[Path]) -> list[Manifest]:
    return [doc for path in paths for doc in yaml.safe_load_all(path.read_text()) if doc]


def write_manifests(documents: list[Manifest], directory: Path) -> None:
    """One file per document (checkov reports by file and resource)."""
    for index, document in enumerate(documents):
        name = f"{index:03d}-{document['kind'].lower()}-{document['metadata']['name']}.yaml"
        (directory / name).write_text(yaml.safe_dump(document, sort_keys=False))


# --- CRD openAPIV3Schema -> JSON Schema -------------------------------------------------------


def openapi_to_jsonschema(node: Any) -> Any:
    """A CRD's structural schema as a strict JSON Schema.

    Objects with `properties` are closed (additionalProperties: false) unless they carry
    x-kubernetes-preserve-unknown-fields; int-or-string becomes a oneOf; the Kubernetes
    extensions are dropped.
    """
    if isinstance(node, list):
        return [openapi_to_jsonschema(item) for item in node]
    if not isinstance(node, dict):
        return node
    out: dict[str, Any] = {}
    for key, value in node.items():
        if key.startswith("x-kubernetes-"):
            continue
        if key == "properties":
            out[key] = {name: openapi_to_jsonschema(child) for name, child in value.items()}
        else:
            out[key] = openapi_to_jsonschema(value)
    if node.get("x-kubernetes-int-or-string") or node.get("format") == "int-or-string":
        out.pop("type", None)
        out.pop("format", None)
        out["oneOf"] = [{"type": "integer"}, {"type": "string"}]
    if (
        "properties" in node
        and not node.get("x-kubernetes-preserve-unknown-fields")
        and "additionalProperties" not in node
    ):
        out["additionalProperties"] = False
    return out


def resource_schema(crd: Manifest, version: str) -> dict[str, Any]:
    """The JSON Schema of a whole custom resource of one version of a CRD."""
    served = next(v for v in crd["spec"]["versions"] if v["name"] == version)
    converted: dict[str, Any] = openapi_to_jsonschema(served["schema"]["openAPIV3Schema"])
    # The API server checks metadata itself; the CRD leaves it open.
    converted["properties"]["metadata"] = {"type": "object"}
    converted["properties"]["apiVersion"] = {"const": f"{crd['spec']['group']}/{version}"}
    converted["properties"]["kind"] = {"const": crd["spec"]["names"]["kind"]}
    converted["required"] = ["apiVersion", "kind", "metadata", "spec"]
    return converted


@cache
def flink_deployment_schema() -> dict[str, Any]:
    assert FLINK_CRD.is_file(), f"{FLINK_CRD} is missing: run deploy/tools/install.sh"
    crd = yaml.safe_load(FLINK_CRD.read_text())
    version = next(v for v in crd["spec"]["versions"] if v["name"] == "v1beta1")
    spec = version["schema"]["openAPIV3Schema"]["properties"]["spec"]
    enum = spec["properties"]["flinkVersion"]["enum"]
    enum.extend(v for v in FLINK_VERSIONS_NEWER_THAN_CRD if v not in enum)
    return resource_schema(crd, "v1beta1")


@cache
def _crds(path: Path) -> tuple[Manifest, ...]:
    assert path.is_file(), f"{path} is missing: run deploy/tools/install.sh"
    # The Argo Rollouts file is ~4 MB: the C loader reads it in a second, the Python one in 20.
    loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)
    return tuple(doc for doc in yaml.load_all(path.read_text(), Loader=loader) if doc)


@cache
def generated_crd_schema(kind: str, api_version: str) -> dict[str, Any]:
    group, _, version = api_version.rpartition("/")
    crd = next(
        crd
        for crd in _crds(GENERATED_CRDS[(kind, api_version)])
        if (crd["spec"]["group"], crd["spec"]["names"]["kind"]) == (group, kind)
    )
    return resource_schema(crd, version)


@cache
def crd_schema(kind: str, api_version: str) -> dict[str, Any] | None:
    if (kind, api_version) == ("FlinkDeployment", "flink.apache.org/v1beta1"):
        return flink_deployment_schema()
    if (kind, api_version) in GENERATED_CRDS:
        return generated_crd_schema(kind, api_version)
    group, _, version = api_version.rpartition("/")
    path = SCHEMAS / f"{kind.lower()}-{group}-{version}.json"
    if not path.is_file():
        return None
    loaded: dict[str, Any] = json.loads(path.read_text())
    return loaded


def validation_errors(document: Manifest) -> list[str]:
    """Why a manifest is invalid (empty: valid). Unknown kinds are errors."""
    kind, api_version = document.get("kind", "?"), document.get("apiVersion", "?")
    name = f"{kind} {document.get('metadata', {}).get('name', '?')}"
    group = api_version.rpartition("/")[0]
    if "." not in group or group.endswith(".k8s.io"):
        # A core (built-in) kind: no schema is a failure, not a pass.
        try:
            kubernetes_validate.validate(document, KUBE_VERSION, strict=True)
        except kubernetes_validate.SchemaNotFoundError as error:
            return [f"{name}: no Kubernetes {KUBE_VERSION} schema for {api_version}: {error}"]
        except kubernetes_validate.ValidationError as error:
            return [f"{name}: {error.message} at {list(error.path)}"]
        return []
    schema = crd_schema(kind, api_version)
    if schema is None:
        return [f"{name}: no schema for custom resource {api_version} {kind}"]
    validator = jsonschema.Draft202012Validator(schema)
    return [
        f"{name}: {error.message} at {list(error.absolute_path)}"
        for error in validator.iter_errors(document)
    ]
