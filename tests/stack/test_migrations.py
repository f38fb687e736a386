"""Each service's migrations build exactly the tables its models declare (no drift)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from cloudmart_local.layout import DATABASES
from cloudmart_local.secrets import service_environment

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("service", DATABASES)
def test_the_migrated_database_matches_the_models(service: str) -> None:
    alembic = Path(sys.executable).with_name("alembic")
    result = subprocess.run(
        [str(alembic), "-c", str(ROOT / "services" / service / "alembic.ini"), "check"],
        env=os.environ | service_environment(service),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )

    assert result.returncode == 0, result.stdout + result.stderr
    assert "No new upgrade operations detected" in result.stdout + result.stderr
