"""Where the deploy tests find their tools (installed by deploy/tools/install.sh)."""

import os
import shutil
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
TOOLS = ROOT / ".cloudmart" / "tools"
VENV_BIN = ROOT / ".venv" / "bin"
FLINK_CRD = TOOLS / "crds" / "flinkdeployments.flink.apache.org-v1.yml"
# checkov asks the network for guidelines and for a newer version of itself unless told not to.
CHECKOV_ENV = {"BC_SKIP_MAPPING": "TRUE", "CKV_SKIP_PACKAGE_UPDATE_CHECK": "true"}


def tool(name: str) -> Path:
    """A built tool (helm, actionlint, hclfmt) or one of the venv's; missing is a failure."""
    for candidate in (TOOLS / "bin" / name, VENV_BIN / name):
        if candidate.is_file() and os.access(candidate, os.X_OK):
            return candidate
    found = shutil.which(name)
    if found is None:
        raise AssertionError(f"{name} is not installed: run deploy/tools/install.sh")
    return Path(found)


def checkov(*args: str) -> subprocess.CompletedProcess[str]:
    """Run checkov offline (its own venv) and return the finished process."""
    binary = TOOLS / "venvs" / "checkov" / "bin" / "checkov"
    if not binary.is_file():
        raise AssertionError("checkov is not installed: run deploy/tools/install.sh")
    return subprocess.run(
        [str(binary), "--skip-download", "--compact", "--quiet", *args],
        capture_output=True,
        text=True,
        check=False,
        env={**os.environ, **CHECKOV_ENV},
        cwd=ROOT,
    )


def run(*command: str | Path, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(part) for part in command], capture_output=True, text=True, check=False, cwd=cwd
    )
