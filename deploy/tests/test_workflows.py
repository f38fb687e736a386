"""The GitHub Actions workflows: actionlint, the workflow JSON schema, and what they must do.

test.yml runs `make test` on every pull request; images.yml builds every image on main, pushes
it to ECR with OIDC credentials, and commits the new tag to the prod Helm values (GitOps).
"""

import itertools
import json
import re
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml

from cloudmart_local.layout import SERVICE_PORTS

from .tools import ROOT, checkov, run, tool

WORKFLOWS = ROOT / ".github" / "workflows"
TEST = WORKFLOWS / "test.yml"
IMAGES = WORKFLOWS / "images.yml"
VALUES_PROD = "deploy/helm/cloudmart/values-prod.yaml"
IMAGE_NAMES = {*SERVICE_PORTS, "analytics", "catalog-import", "pgbouncer"}
# `uses: owner/repo@<40 hex> # v1.2.3`: pinned to a commit, the comment says which release.
PINNED_USES = re.compile(r"^\s*(?:-\s+)?uses:\s+[\w.-]+/[\w./-]+@[0-9a-f]{40} # v\d+(\.\d+)*\s*$")


def load(path: Path) -> dict[str, Any]:
    document = yaml.safe_load(path.read_text())
    assert isinstance(document, dict)
    # YAML 1.1 reads the key `on` as the boolean True.
    if True in document:
        document["on"] = document.pop(True)
    return document


def dig(node: Any, *keys: str) -> Any:
    for key in keys:
        node = node.get(key) if isinstance(node, dict) else None
    return node


def steps(job: dict[str, Any]) -> list[dict[str, Any]]:
    found = job["steps"]
    assert isinstance(found, list)
    return found


def step_using(job: dict[str, Any], action: str) -> dict[str, Any]:
    matches = [s for s in steps(job) if str(s.get("uses", "")).startswith(f"{action}@")]
    assert len(matches) == 1, f"expected one {action} step, found {len(matches)}"
    return matches[0]


def workflow_files() -> list[Path]:
    files = sorted(WORKFLOWS.glob("*.yml")) + sorted(WORKFLOWS.glob("*.yaml"))
    assert {f.name for f in files} >= {"test.yml", "images.yml"}
    return files


def test_actionlint_is_clean() -> None:
    # shellcheck and pyflakes are not installed: actionlint's own checks (expressions, contexts,
    # action inputs, job graph, matrix keys, permissions) still run.
    result = run(tool("actionlint"), "-no-color", "-shellcheck=", "-pyflakes=", *workflow_files())
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""


def test_actionlint_catches_a_broken_workflow(tmp_path: Path) -> None:
    # Proves the check above can fail: an undefined matrix key and a job needing a missing job.
    broken = IMAGES.read_text().replace("matrix.dockerfile", "matrix.dockerfil", 1)
    broken = broken.replace("needs: build", "needs: biuld", 1)
    target = tmp_path / ".github" / "workflows"
    target.mkdir(parents=True)
    (target / "images.yml").write_text(broken)
    result = run(
        tool("actionlint"), "-no-color", "-shellcheck=", "-pyflakes=", target / "images.yml"
    )
    assert result.returncode == 1
    assert "dockerfil" in result.stdout
    assert "biuld" in result.stdout


@pytest.mark.parametrize("name", ["test.yml", "images.yml"])
def test_matches_the_github_workflow_schema(name: str) -> None:
    result = run(
        tool("check-jsonschema"), "--builtin-schema", "vendor.github-workflows", WORKFLOWS / name
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_every_action_is_pinned_to_a_commit() -> None:
    for path in workflow_files():
        uses = [
            line for line in path.read_text().splitlines() if re.match(r"^\s*(-\s+)?uses:", line)
        ]
        assert uses, path
        for line in uses:
            assert PINNED_USES.match(line), f"{path.name}: not pinned by SHA: {line.strip()}"


def test_no_expressions_inside_shell() -> None:
    # Untrusted text (branch names, PR titles) must reach a shell only through env variables:
    # no `${{ }}` in any run block, trusted or not, so none can slip in later.
    for path in workflow_files():
        for job_name, job in load(path)["jobs"].items():
            for step in steps(job):
                script = step.get("run", "")
                assert "${{" not in script, f"{path.name} {job_name}: {script!r}"


def test_pull_requests_run_make_test() -> None:
    workflow = load(TEST)
    assert "pull_request" in workflow["on"]
    assert workflow["on"]["push"]["branches"] == ["main"]
    assert workflow["permissions"] == {"contents": "read"}
    assert workflow["concurrency"]["cancel-in-progress"] is True
    assert "github.ref" in workflow["concurrency"]["group"]
    (job,) = workflow["jobs"].values()
    assert job["runs-on"] == "ubuntu-latest"
    assert job["timeout-minutes"] == 90
    # install.sh needs root for apt-get and Debian 12's package names (postgresql-15, chromium).
    assert job["container"]["image"].startswith("python:3.11-bookworm")
    runs = [s["run"].strip() for s in steps(job) if "run" in s]
    assert "make test" in runs
    assert steps(job)[0]["uses"].startswith("actions/checkout@")
    uploads = [
        s for s in steps(job) if str(s.get("uses", "")).startswith("actions/upload-artifact@")
    ]
    uploaded = {
        p
        for s in uploads
        if s["if"] in ("always()", "failure()")
        for p in s["with"]["path"].split()
    }
    assert {"artifacts/screenshots", "bench/results"} <= uploaded


def test_images_are_built_for_every_service_on_main() -> None:
    workflow = load(IMAGES)
    trigger = workflow["on"]
    assert set(trigger) == {"push", "pull_request"}
    assert trigger["push"]["branches"] == ["main"]
    for prefix in ("services/", "libs/", "web/", "analytics/", "deploy/docker/"):
        assert f"{prefix}**" in trigger["push"]["paths"]
    assert "uv.lock" in trigger["push"]["paths"]
    # A pull request builds what main would: the same paths.
    assert trigger["pull_request"]["paths"] == trigger["push"]["paths"]
    assert workflow["permissions"] == {}
    # Never cancelled halfway through a push to main; a pull request's newer commit wins.
    assert workflow["concurrency"]["cancel-in-progress"] == (
        "${{ github.event_name == 'pull_request' }}"
    )

    build = workflow["jobs"]["build"]
    matrix = build["strategy"]["matrix"]["include"]
    by_image = {entry["image"]: entry for entry in matrix}
    assert len(matrix) == len(by_image) == 10
    assert set(by_image) == IMAGE_NAMES
    for service in SERVICE_PORTS:
        entry = by_image[service]
        assert entry["dockerfile"] == "deploy/docker/service.Dockerfile"
        assert entry["build-args"] == f"SERVICE={service}"
        assert entry["context"] == "."
    assert by_image["analytics"]["dockerfile"] == "analytics/Dockerfile"
    assert by_image["catalog-import"]["dockerfile"] == "deploy/docker/catalog-import.Dockerfile"

    push = step_using(build, "docker/build-push-action")["with"]
    assert push["file"] == "${{ matrix.dockerfile }}"
    assert push["build-args"] == "${{ matrix.build-args }}"
    # Built on every pull request, pushed only from main.
    assert push["push"] == "${{ github.event_name == 'push' }}"
    # One tag, the commit SHA: ECR tags are immutable, so no `latest`.
    assert push["tags"] == (
        "${{ steps.ecr.outputs.registry || 'pull-request' }}/cloudmart/${{ matrix.image }}"
        ":${{ github.sha }}"
    )
    # Nothing of AWS, signing or attestation runs for a pull request.
    for step in steps(build):
        uses, name = str(step.get("uses", "")), str(step.get("name", ""))
        if uses.startswith(("aws-actions/", "sigstore/", "anchore/")) or "cosign" in str(
            step.get("run", "")
        ):
            assert "github.event_name == 'push'" in str(step.get("if", "")), name or uses
    assert push["cache-from"].startswith("type=gha")
    assert push["cache-to"].startswith("type=gha")
    step_using(build, "docker/setup-buildx-action")
    assert step_using(build, "aws-actions/amazon-ecr-login")["id"] == "ecr"


def test_dockerfiles_named_in_the_matrix_exist() -> None:
    for entry in load(IMAGES)["jobs"]["build"]["strategy"]["matrix"]["include"]:
        assert (ROOT / entry["dockerfile"]).is_file(), entry["dockerfile"]
        assert (ROOT / entry["context"]).is_dir(), entry["context"]


def test_aws_access_is_oidc_only() -> None:
    workflow = load(IMAGES)
    build = workflow["jobs"]["build"]
    assert build["permissions"] == {"contents": "read", "id-token": "write"}
    aws = step_using(build, "aws-actions/configure-aws-credentials")["with"]
    assert aws["role-to-assume"] == "${{ vars.AWS_ROLE_ARN }}"
    assert not {"aws-access-key-id", "aws-secret-access-key", "aws-session-token"} & set(aws)
    text = IMAGES.read_text() + TEST.read_text()
    assert "aws-access-key-id" not in text
    assert "secrets." not in text  # no long-lived credentials of any kind
    # Only the build job may mint AWS credentials; only the bump job may push to the repo.
    assert "id-token" not in workflow["jobs"]["bump"]["permissions"]


def test_bump_job_opens_a_pull_request_for_the_prod_values() -> None:
    bump = load(IMAGES)["jobs"]["bump"]
    assert bump["needs"] == "build"
    assert bump["if"] == "github.event_name == 'push'"
    assert bump["permissions"] == {"contents": "write", "pull-requests": "write"}
    assert step_using(bump, "actions/checkout")["with"]["ref"] == "main"
    runs = {s.get("name", ""): s for s in steps(bump) if "run" in s}
    script = next(s for s in runs.values() if "bump_image_tags.py" in s["run"])
    assert script["run"].split() == [
        "python",
        "deploy/scripts/bump_image_tags.py",
        "--values",
        VALUES_PROD,
        "--tag",
        '"$TAG"',
    ]
    assert script["env"]["TAG"] == "${{ github.sha }}"
    assert (ROOT / "deploy" / "scripts" / "bump_image_tags.py").is_file()
    opened = next(s for s in runs.values() if "gh pr create" in s["run"])
    assert 'git push origin "$branch"' in opened["run"]
    assert "--base main" in opened["run"]
    assert opened["env"]["VALUES"] == VALUES_PROD
    assert opened["env"]["GH_TOKEN"] == "${{ github.token }}"
    # Nothing in the workflow pushes to main.
    assert "HEAD:main" not in IMAGES.read_text()


def test_bump_moves_every_prod_image_to_the_commit(tmp_path: Path) -> None:
    # What Argo CD deploys after a bump: each service's and the Flink job's effective tag
    # (override, else prod's image.tag, else the chart default) must be the new commit.
    chart = ROOT / "deploy" / "helm" / "cloudmart"
    values = tmp_path / "values-prod.yaml"
    shutil.copy(ROOT / VALUES_PROD, values)
    sha = "0123456789abcdef0123456789abcdef01234567"
    result = run(
        "python3", ROOT / "deploy" / "scripts" / "bump_image_tags.py",
        "--values", values, "--tag", sha,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    defaults = yaml.safe_load((chart / "values.yaml").read_text())
    prod = yaml.safe_load(values.read_text())

    def tag(*keys: str) -> Any:
        return dig(prod, *keys) or dig(defaults, *keys)

    default = tag("image", "tag")
    # A prod override is a deliberate pin the bump leaves alone; today there is none.
    pinned = {n for n in SERVICE_PORTS if dig(prod, "services", n, "image", "tag")}
    assert pinned == set()
    effective = {name: tag("services", name, "image", "tag") or default for name in SERVICE_PORTS}
    effective["analytics"] = tag("analytics", "image", "tag") or default
    assert effective == dict.fromkeys([*SERVICE_PORTS, "analytics"], sha)


def test_checkov_finds_nothing_in_the_workflows() -> None:
    result = checkov("-d", ".github", "--framework", "github_actions")
    assert result.returncode == 0, result.stdout + result.stderr
    assert re.search(r"Passed checks: [1-9]\d*, Failed checks: 0, Skipped checks: 0", result.stdout)


# --- supply chain: multi-arch, SBOM, signatures (ADR 0021) ---------------------------------------

BUILT = "${{ steps.build.outputs.digest || steps.existing.outputs.digest }}"
IMAGE_REF = "${{ steps.ecr.outputs.registry }}/cloudmart/${{ matrix.image }}"
# Lambda runs one architecture and refuses image indexes (ADR 0021).
SINGLE_ARCH = {"catalog-import": "linux/amd64"}


def build_job() -> dict[str, Any]:
    job: dict[str, Any] = load(IMAGES)["jobs"]["build"]
    return job


def runs_for(entry: dict[str, Any], step: dict[str, Any]) -> bool:
    """Whether a step runs for a matrix entry, as far as its `if` depends on the matrix."""
    condition = str(step.get("if", ""))
    for clause in re.findall(r"matrix\.sbom == '(\w+)'", condition):
        if entry["sbom"] != clause:
            return False
    return True


def step_index(job: dict[str, Any], action: str) -> int:
    return steps(job).index(step_using(job, action))


def assert_multi_arch(job: dict[str, Any]) -> None:
    for entry in job["strategy"]["matrix"]["include"]:
        expected = SINGLE_ARCH.get(entry["image"], "linux/amd64,linux/arm64")
        assert entry["platforms"] == expected, entry["image"]
    push = step_using(job, "docker/build-push-action")
    # Every platform on main; a pull request's check build is amd64 only.
    assert push["with"]["platforms"] == (
        "${{ github.event_name == 'push' && matrix.platforms || 'linux/amd64' }}"
    )
    assert push["id"] == "build"
    qemu = step_using(job, "docker/setup-qemu-action")
    assert qemu["with"]["platforms"] == "arm64"
    # QEMU and buildx are set up before the build that needs them.
    assert step_index(job, "docker/setup-qemu-action") < step_index(job, "docker/build-push-action")
    assert step_index(job, "docker/setup-buildx-action") < step_index(
        job, "docker/build-push-action"
    )


def assert_sbom_per_image(job: dict[str, Any]) -> None:
    push = step_using(job, "docker/build-push-action")["with"]
    assert push["sbom"] == "${{ github.event_name == 'push' && matrix.sbom == 'buildx' }}"
    assert push["provenance"] == (
        "${{ github.event_name == 'push' && matrix.sbom == 'buildx' && 'mode=max' || 'false' }}"
    )
    syft = step_using(job, "anchore/sbom-action")
    assert syft["with"]["image"] == f"{IMAGE_REF}@{BUILT}"
    assert syft["with"]["format"] == "spdx-json"
    attest = next(s for s in steps(job) if "cosign attest" in s.get("run", ""))
    assert attest["run"].split()[:5] == ["cosign", "attest", "--yes", "--type", "spdxjson"]
    assert attest["env"]["SBOM"] == syft["with"]["output-file"]
    assert attest["env"]["DIGEST"] == BUILT
    for entry in job["strategy"]["matrix"]["include"]:
        assert entry["sbom"] in ("buildx", "syft"), entry["image"]
        # buildx attaches the SBOM to the image index: only for images that may be an index.
        if entry["image"] in SINGLE_ARCH:
            assert entry["sbom"] == "syft", entry["image"]
        if entry["sbom"] == "syft":
            assert runs_for(entry, syft), entry["image"]
            assert runs_for(entry, attest), entry["image"]
        else:
            assert not runs_for(entry, syft), entry["image"]


def assert_signed_by_digest_keyless(job: dict[str, Any]) -> None:
    assert job["permissions"]["id-token"] == "write"  # keyless: the workflow's OIDC identity
    step_using(job, "sigstore/cosign-installer")
    sign = next(s for s in steps(job) if "cosign sign" in s.get("run", ""))
    assert sign["run"].strip() == 'cosign sign --yes "$IMAGE@$DIGEST"'
    assert sign["env"] == {"IMAGE": IMAGE_REF, "DIGEST": BUILT}
    # No key, no matrix condition: every image, and again on a re-run if a signature is missing.
    assert "--key" not in sign["run"]
    assert sign["if"] == "github.event_name == 'push' && steps.existing.outputs.sig != 'true'"
    for entry in job["strategy"]["matrix"]["include"]:
        assert runs_for(entry, sign), entry["image"]
    order = [s.get("name", s.get("uses", "")) for s in steps(job)]
    assert order.index(sign["name"]) > step_index(job, "docker/build-push-action")
    assert order.index(sign["name"]) > step_index(job, "sigstore/cosign-installer")
    verify = next(s for s in steps(job) if "cosign verify" in s.get("run", ""))
    assert order.index(verify["name"]) > order.index(sign["name"])
    assert verify["if"] == "github.event_name == 'push'"  # every pushed image
    assert verify["env"]["IDENTITY"].endswith("/.github/workflows/images.yml@refs/heads/main")
    assert "https://token.actions.githubusercontent.com" in verify["run"]


def test_every_image_is_built_for_amd64_and_arm64() -> None:
    assert_multi_arch(build_job())


def test_every_image_gets_an_sbom() -> None:
    assert_sbom_per_image(build_job())


def test_every_pushed_image_is_signed_by_digest_keyless() -> None:
    assert_signed_by_digest_keyless(build_job())


def test_supply_chain_checks_catch_a_regression() -> None:
    # The checks above fail on an image left single-arch, a build without SBOM, an unsigned image.
    single_arch = build_job()
    single_arch["strategy"]["matrix"]["include"][0]["platforms"] = "linux/amd64"
    without_sbom = build_job()
    step_using(without_sbom, "docker/build-push-action")["with"]["sbom"] = "false"
    unsigned = build_job()
    sign = next(s for s in steps(unsigned) if "cosign sign" in s.get("run", ""))
    sign["if"] = "matrix.sbom == 'syft'"
    for check, job in (
        (assert_multi_arch, single_arch),
        (assert_sbom_per_image, without_sbom),
        (assert_signed_by_digest_keyless, unsigned),
    ):
        with pytest.raises(AssertionError):
            check(job)


# --- Terraform in CI -----------------------------------------------------------------------------

TERRAFORM_WORKFLOW = WORKFLOWS / "terraform.yml"


def test_terraform_is_checked_planned_on_pull_requests_and_applied_on_main() -> None:
    workflow = load(TERRAFORM_WORKFLOW)
    assert set(workflow["on"]) == {"pull_request", "push"}
    assert workflow["on"]["push"]["branches"] == ["main"]
    for trigger in workflow["on"].values():
        assert "deploy/terraform/**" in trigger["paths"]
    assert workflow["permissions"] == {}
    assert workflow["concurrency"]["cancel-in-progress"] is False
    jobs = workflow["jobs"]
    runs = " ".join(s.get("run", "") for s in steps(jobs["check"]))
    assert "terraform fmt -check -recursive" in runs
    assert "terraform -chdir=deploy/terraform/platform validate" in runs
    assert "checkov -d deploy/terraform" in runs
    # A plan per environment on pull requests, read-only.
    plan = jobs["plan"]
    assert plan["if"] == "github.event_name == 'pull_request'"
    assert plan["needs"] == "check"
    assert plan["strategy"]["matrix"]["environment"] == ["dev", "prod"]
    plan_run = " ".join(s.get("run", "") for s in steps(plan))
    assert "terraform plan" in plan_run
    assert "terraform apply" not in plan_run
    assert '-var-file="../envs/$ENVIRONMENT/terraform.tfvars"' in plan_run
    # An apply per environment on main, behind the environment's approval, dev before prod.
    apply = jobs["apply"]
    assert apply["if"] == "github.event_name == 'push'"
    assert apply["environment"] == "terraform-${{ matrix.environment }}"
    assert apply["strategy"]["max-parallel"] == 1
    assert apply["strategy"]["matrix"]["environment"] == ["dev", "prod"]
    apply_run = " ".join(s.get("run", "") for s in steps(apply))
    assert "terraform apply -input=false -auto-approve" in apply_run
    # Its outputs reach the chart through the platform values file, in a pull request.
    assert "output -raw helm_values" in apply_run
    assert 'values="deploy/helm/cloudmart/values-$ENVIRONMENT-platform.yaml"' in apply_run
    assert "gh pr create --base main" in apply_run
    assert "HEAD:main" not in TERRAFORM_WORKFLOW.read_text()


def test_terraform_credentials_are_oidc_only() -> None:
    text = TERRAFORM_WORKFLOW.read_text()
    assert "secrets." not in text
    assert "aws-access-key-id" not in text
    jobs = load(TERRAFORM_WORKFLOW)["jobs"]
    assert "id-token" not in jobs["check"]["permissions"]
    for name in ("plan", "apply"):
        assert jobs[name]["permissions"]["id-token"] == "write"
        aws = step_using(jobs[name], "aws-actions/configure-aws-credentials")["with"]
        assert not {"aws-access-key-id", "aws-secret-access-key"} & set(aws)
        gcp = next(s for s in steps(jobs[name]) if "gcp_oidc_credentials.py" in s.get("run", ""))
        assert "GOOGLE_APPLICATION_CREDENTIALS" in gcp["run"]


def test_the_gcp_credentials_file_exchanges_the_job_token(tmp_path: Path) -> None:
    environment = {
        "GCP_WORKLOAD_IDENTITY_PROVIDER": (
            "projects/1/locations/global/workloadIdentityPools/gh/providers/gh"
        ),
        "GCP_SERVICE_ACCOUNT": "terraform@cloudmart.iam.gserviceaccount.com",
        "ACTIONS_ID_TOKEN_REQUEST_URL": "https://token.actions.example/token?x=1",
        "ACTIONS_ID_TOKEN_REQUEST_TOKEN": "request-token",
    }
    output = tmp_path / "gcp.json"
    script = ROOT / "deploy" / "scripts" / "gcp_oidc_credentials.py"
    result = subprocess.run(
        ["python3", str(script), str(output)], env=environment, capture_output=True, text=True
    )
    assert result.returncode == 0, result.stderr
    written = json.loads(output.read_text())
    audience = "//iam.googleapis.com/" + environment["GCP_WORKLOAD_IDENTITY_PROVIDER"]
    assert written["type"] == "external_account"
    assert written["audience"] == audience
    assert written["credential_source"]["url"].endswith(f"&audience=https:{audience}")
    assert written["service_account_impersonation_url"].endswith(
        "terraform@cloudmart.iam.gserviceaccount.com:generateAccessToken"
    )
    assert output.stat().st_mode & 0o077 == 0


# --- the Flink job on Dataproc --------------------------------------------------------------------

ANALYTICS_WORKFLOW = WORKFLOWS / "analytics.yml"
SUBMIT = ROOT / "deploy" / "scripts" / "dataproc_submit.py"


def test_the_flink_job_is_submitted_to_dataproc_from_main() -> None:
    workflow = load(ANALYTICS_WORKFLOW)
    assert set(workflow["on"]) == {"push"}
    assert workflow["on"]["push"]["branches"] == ["main"]
    assert "analytics/**" in workflow["on"]["push"]["paths"]
    assert workflow["concurrency"]["cancel-in-progress"] is False
    job = workflow["jobs"]["submit"]
    assert job["permissions"] == {"contents": "read", "id-token": "write"}
    runs = " ".join(s.get("run", "") for s in steps(job))
    assert "mvn -B -q -f analytics/pom.xml package" in runs
    assert "gcp_oidc_credentials.py" in runs
    assert "deploy/scripts/dataproc_submit.py --environment prod" in runs
    pom = (ROOT / "analytics" / "pom.xml").read_text()
    version = re.search(r"<artifactId>order-analytics</artifactId>\s*<version>([^<]+)<", pom)
    assert version
    assert f"analytics/target/order-analytics-{version.group(1)}.jar" in runs
    assert "secrets." not in ANALYTICS_WORKFLOW.read_text()


def _submitted(environment: str) -> list[list[str]]:
    result = run(
        "python3", SUBMIT, "--environment", environment, "--jar", "order-analytics.jar",
        "--commit", "0123456789abcdef0123", "--dry-run",
    )  # fmt: skip
    assert result.returncode == 0, result.stderr
    return [json.loads(line) for line in result.stdout.splitlines()]


@pytest.mark.parametrize("environment", ["dev", "prod"])
def test_dataproc_gets_the_job_as_the_chart_would_run_it(environment: str) -> None:
    upload, running, submit = _submitted(environment)
    platform = yaml.safe_load(
        (ROOT / "deploy" / "helm" / "cloudmart" / f"values-{environment}-platform.yaml").read_text()
    )
    dataproc = platform["analytics"]["dataproc"]
    staged = f"gs://{dataproc['stagingBucket']}/jobs/order-analytics-0123456789ab.jar"
    assert upload == ["gcloud", "storage", "cp", "order-analytics.jar", staged]
    assert running[:4] == ["gcloud", "dataproc", "jobs", "list"]
    assert submit[:5] == ["gcloud", "dataproc", "jobs", "submit", "flink"]
    head = submit[: submit.index("--")]
    options = {
        flag: value
        for flag, value in itertools.pairwise(head)
        if flag.startswith("--") and not value.startswith("--")
    }
    assert options["--cluster"] == dataproc["cluster"]
    assert options["--region"] == dataproc["region"]
    assert options["--project"] == dataproc["project"]
    assert options["--jar"] == staged
    job = submit[submit.index("--") + 1 :]
    args = dict(zip(job[::2], job[1::2], strict=True))
    # Checkpoints every 60 s and the lake on GCS, Kafka over TLS, resuming its latest state.
    assert args["--checkpoint-ms"] == "60000"
    assert args["--checkpoint-dir"] == platform["analytics"]["checkpointDir"]
    assert args["--checkpoint-dir"].startswith("gs://")
    assert args["--lake-dir"].startswith("gs://")
    assert args["--bootstrap"] == platform["kafka"]["bootstrapServers"]
    assert args["--security-protocol"] == "SSL"
    assert args["--resume-latest"] == "true"
