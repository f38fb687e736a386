"""Run the Flink job on the Dataproc cluster Terraform made (analytics.runOn=dataproc, ADR 0035).

    python deploy/scripts/dataproc_submit.py --environment prod --jar JAR --commit SHA [--dry-run]

Everything it needs comes from the chart's values, so the job on Dataproc and the one on EKS are
configured alike: where (values-<env>-platform.yaml, written from Terraform: project, region,
cluster, staging bucket, checkpoint and lake directories, Kafka's TLS bootstrap), and how
(values.yaml's analytics: window, parallelism, checkpoint interval). It uploads the jar to the
staging bucket, cancels the running job (its checkpoints are retained on cancellation), and
submits the new one resuming from the latest checkpoint. With --dry-run it prints the gcloud
commands as JSON lines instead (the tests check them). With analytics.runOn=eks it does nothing.
"""

import argparse
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml

CHART = Path(__file__).resolve().parents[1] / "helm" / "cloudmart"
LABEL = "app=order-analytics"


def _values(environment: str) -> dict[str, Any]:
    merged: dict[str, Any] = {}
    files = ("values.yaml", f"values-{environment}.yaml", f"values-{environment}-platform.yaml")
    for name in files:
        _merge(merged, yaml.safe_load((CHART / name).read_text()) or {})
    return merged


def _merge(into: dict[str, Any], extra: dict[str, Any]) -> None:
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _merge(into[key], value)
        else:
            into[key] = value


def job_arguments(values: dict[str, Any]) -> list[str]:
    """The job's arguments, as the chart's FlinkDeployment passes them (analytics.yaml)."""
    analytics, kafka = values["analytics"], values["kafka"]
    return [
        "--bootstrap", kafka["bootstrapServers"],
        "--security-protocol", kafka["securityProtocol"],
        "--window-seconds", str(analytics["windowSeconds"]),
        "--checkpoint-dir", analytics["checkpointDir"],
        "--checkpoint-ms", str(analytics["checkpointIntervalMs"]),
        "--lake-dir", analytics["lakeDir"],
        "--parallelism", str(analytics["parallelism"]),
        "--web-ui-port", "0",
        "--resume-latest", "true",
    ]  # fmt: skip


def commands(values: dict[str, Any], jar: Path, commit: str) -> list[list[str]]:
    dataproc = values["analytics"]["dataproc"]
    where = ["--project", dataproc["project"], "--region", dataproc["region"]]
    staged = f"gs://{dataproc['stagingBucket']}/jobs/order-analytics-{commit[:12]}.jar"
    return [
        ["gcloud", "storage", "cp", str(jar), staged],
        # The running job, by its label: cancelled so that two never write the same results.
        [
            "gcloud", "dataproc", "jobs", "list", *where, "--cluster", dataproc["cluster"],
            "--state-filter", "active", "--filter", f"labels.{LABEL.replace('=', ' = ')}",
            "--format", "value(reference.jobId)",
        ],
        [
            "gcloud", "dataproc", "jobs", "submit", "flink", *where,
            "--cluster", dataproc["cluster"], "--jar", staged,
            "--labels", f"{LABEL},commit={commit[:12]}",
            "--async", "--", *job_arguments(values),
        ],
    ]  # fmt: skip


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="dataproc_submit.py")
    parser.add_argument("--environment", required=True, choices=["dev", "prod"])
    parser.add_argument("--jar", required=True, type=Path)
    parser.add_argument("--commit", required=True)
    parser.add_argument("--dry-run", action="store_true")
    arguments = parser.parse_args(argv)
    values = _values(arguments.environment)
    if values["analytics"]["runOn"] != "dataproc":
        print(f"analytics.runOn is {values['analytics']['runOn']}: nothing to submit")
        return 0
    upload, running, submit = commands(values, arguments.jar, arguments.commit)
    if arguments.dry_run:
        for command in (upload, running, submit):
            print(json.dumps(command))
        return 0
    subprocess.run(upload, check=True)
    listed = subprocess.run(running, check=True, capture_output=True, text=True).stdout.split()
    where = running[4:8]  # --project P --region R
    for job in listed:
        subprocess.run(["gcloud", "dataproc", "jobs", "kill", job, *where, "--quiet"], check=True)
    subprocess.run(submit, check=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
