"""Google credentials for a GitHub Actions job without a key: an external-account file that
exchanges the job's OIDC token (Workload Identity Federation) for the service account's.

    python deploy/scripts/gcp_oidc_credentials.py OUTPUT.json

Reads GCP_WORKLOAD_IDENTITY_PROVIDER (projects/<n>/locations/global/workloadIdentityPools/<p>/
providers/<q>), GCP_SERVICE_ACCOUNT, and the runner's ACTIONS_ID_TOKEN_REQUEST_URL and _TOKEN
(present when the job has `id-token: write`). The file holds no secret: the Google client
libraries (Terraform's provider, gcloud) fetch a fresh OIDC token through it when they need one.
"""

import json
import os
import sys
from pathlib import Path


def credentials(environment: dict[str, str]) -> dict[str, object]:
    provider = environment["GCP_WORKLOAD_IDENTITY_PROVIDER"]
    audience = f"//iam.googleapis.com/{provider}"
    account = environment["GCP_SERVICE_ACCOUNT"]
    return {
        "type": "external_account",
        "audience": audience,
        "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
        "token_url": "https://sts.googleapis.com/v1/token",
        "service_account_impersonation_url": (
            "https://iamcredentials.googleapis.com/v1/projects/-/serviceAccounts/"
            f"{account}:generateAccessToken"
        ),
        "credential_source": {
            "url": f"{environment['ACTIONS_ID_TOKEN_REQUEST_URL']}&audience=https:{audience}",
            "headers": {"Authorization": f"Bearer {environment['ACTIONS_ID_TOKEN_REQUEST_TOKEN']}"},
            "format": {"type": "json", "subject_token_field_name": "value"},
        },
    }


def main() -> None:
    if len(sys.argv) != 2:
        raise SystemExit("usage: gcp_oidc_credentials.py OUTPUT.json")
    output = Path(sys.argv[1])
    output.write_text(json.dumps(credentials(dict(os.environ))))
    output.chmod(0o600)


if __name__ == "__main__":
    main()
