"""The repository stands alone: what a user clones is all the documentation there is."""

import ast
import json
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from cloudmart_common import topology
from cloudmart_local.layout import ROOT

# Documents that lived outside the repository while it was built; citing one sends a reader
# nowhere. The project's own are docs/architecture.md and docs/adr/. (Spelled in pieces so that
# `git grep` for them finds nothing, this line included.)
OUTSIDE = (*(f"{name}.md" for name in ("DESIGN", "RECIPES", "STYLE")), "../" + "shared")
SOURCES = (
    "libs/*/src/**/*.py",
    "services/*/src/**/*.py",
    "local/src/**/*.py",
    "tools/*/src/**/*.py",
)
SERVICES = sorted(path.name for path in (ROOT / "services").iterdir() if (path / "src").is_dir())


def _tracked_files_mentioning(needle: str) -> list[str]:
    found = subprocess.run(
        ["git", "grep", "-l", "-F", needle, "--", ".", ":!deploy/tests/test_repository.py"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert found.returncode in (0, 1), found.stderr  # 1: no match
    return found.stdout.split()


def test_nothing_points_outside_the_repository() -> None:
    pointing = {needle: files for needle in OUTSIDE if (files := _tracked_files_mentioning(needle))}
    assert pointing == {}


def test_the_architecture_document_has_every_section_the_code_cites() -> None:
    sections = {
        line.split(".", 1)[0].removeprefix("## ")
        for line in (ROOT / "docs" / "architecture.md").read_text().splitlines()
        if line.startswith("## ")
    }
    cited = subprocess.run(
        ["git", "grep", "-h", "-o", "-E", r"architecture\.md (§|\\u00a7)[0-9]+"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split("\n")
    numbers = {c.rsplit("§", 1)[-1].rsplit("u00a7", 1)[-1] for c in cited if c}
    assert numbers <= sections, sorted(numbers - sections)


def test_no_build_artefact_is_committed() -> None:
    listed = subprocess.run(
        ["git", "ls-files", "*.whl", "*.jar", "*.tar.gz"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout.split()
    assert listed == []


def test_the_readme_is_a_front_page() -> None:
    assert len((ROOT / "README.md").read_text().splitlines()) <= 200


def test_every_relative_link_of_the_documentation_resolves() -> None:
    documents = [ROOT / "README.md", *(ROOT / "docs").rglob("*.md")]
    broken = []
    for document in documents:
        for target in re.findall(r"\]\(([^)#\s]+)(?:#[^)]*)?\)", document.read_text()):
            if "://" in target or target.startswith("mailto:"):
                continue
            if not (document.parent / target).exists():
                broken.append(f"{document.relative_to(ROOT)} -> {target}")
    assert broken == []


def test_topics_groups_and_dead_letter_headers_are_named_only_by_the_topology() -> None:
    """Names a service could not tell from its own (`orders` is a service too) are left out."""
    named_once = {
        topology.ANALYTICS_RESULTS.name,
        topology.DEAD_LETTERS.name,
        *(group.group_id for group in topology.CONSUMER_GROUPS),
        *(
            value
            for name, value in vars(topology.DeadLetterHeaders).items()
            if name.isupper() and isinstance(value, str) and name != "PREFIX"
        ),
    }
    sources = [
        path for pattern in SOURCES for path in ROOT.glob(pattern) if path.name != "topology.py"
    ]
    spelled = sorted(
        f"{path.relative_to(ROOT)}:{node.lineno}: {node.value}"
        for path in sources
        for node in ast.walk(ast.parse(path.read_text()))
        if isinstance(node, ast.Constant) and node.value in named_once
    )
    assert spelled == []


def _imported_modules(path: Path) -> set[str]:
    modules = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            modules |= {alias.name for alias in node.names}
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            modules.add(node.module)
    return modules


def test_no_service_imports_another_and_the_library_imports_none() -> None:
    """Services talk over HTTP and Kafka only (architecture.md §3): a service's code imports
    its own package and the shared library, never another service's package."""
    crossings = []
    for owner in ["common", *SERVICES]:
        package = f"cloudmart_{owner}"
        root = ROOT / ("libs" if owner == "common" else "services") / owner / "src" / package
        for path in root.rglob("*.py"):
            for module in _imported_modules(path):
                top = module.split(".")[0]
                others = {f"cloudmart_{name}" for name in SERVICES} - {package}
                if top in others:
                    crossings.append(f"{path.relative_to(ROOT)} imports {module}")
    assert crossings == []


# --- one service skeleton (architecture.md §3) ------------------------------------------------

# Every domain service has these, in the same places: the composition root, thin routes, its
# settings, the domain (a module, or a package split by sub-domain), its store, and what routes
# take as dependencies. The gateway is the edge proxy, with no domain or store of its own.
SKELETON = (
    "app.py",
    "api.py",
    "schemas.py",
    "settings.py",
    "service",
    "repository.py",
    "dependencies.py",
    "errors.py",
)
DOMAIN_SERVICES = [name for name in SERVICES if name != "gateway"]
# A module past this many lines holds more than one sub-domain: split it (a sub-package).
MAX_LINES = 400


def _package(service: str) -> Path:
    return ROOT / "services" / service / "src" / f"cloudmart_{service}"


def test_every_domain_service_has_the_one_skeleton() -> None:
    missing = {
        service: [
            part
            for part in SKELETON
            if not (_package(service) / part).is_file()
            and not (_package(service) / part.removesuffix(".py") / "__init__.py").is_file()
            and not (_package(service) / f"{part}.py").is_file()
        ]
        for service in DOMAIN_SERVICES
    }
    assert {service: parts for service, parts in missing.items() if parts} == {}


def _defined_in(kind: str) -> list[str]:
    """Where, outside the module meant for them, a service defines `kind`."""
    home = {
        "errors": "errors.py",
        "events": "events.py",
        "schemas": "schemas.py",
        "consumers": "consumer.py",
    }[kind]
    found = []
    for service in SERVICES:
        for path in _package(service).rglob("*.py"):
            if path.name == home:
                continue
            tree = ast.parse(path.read_text())
            for node in ast.walk(tree):
                if kind == "errors" and isinstance(node, ast.ClassDef):
                    bases = {getattr(base, "id", getattr(base, "attr", "")) for base in node.bases}
                    if bases & DOMAIN_ERRORS:
                        found.append(f"{path.relative_to(ROOT)}: {node.name}")
                called = getattr(node, "func", None)
                name = getattr(called, "id", getattr(called, "attr", ""))
                if kind == "events" and isinstance(node, ast.Call) and name == "new_event":
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
                if kind == "consumers" and isinstance(node, ast.Call) and name == "EventConsumer":
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}")
                if kind == "schemas" and isinstance(node, ast.ClassDef):
                    bases = {getattr(base, "id", getattr(base, "attr", "")) for base in node.bases}
                    if bases & {"BaseModel", "Strict"}:
                        found.append(f"{path.relative_to(ROOT)}: {node.name}")
    return found


DOMAIN_ERRORS = {
    "DomainError",
    "BadRequestError",
    "UnauthorizedError",
    "ForbiddenError",
    "NotFoundError",
    "ConflictError",
    "UnprocessableError",
    "PaymentRequiredError",
    "ServiceUnavailableError",
}


@pytest.mark.parametrize("kind", ["errors", "events", "schemas", "consumers"])
def test_errors_events_schemas_and_consumers_live_in_their_own_modules(kind: str) -> None:
    """A service's problem types are in errors.py, its event builders in events.py, its
    request and response bodies in schemas.py (a sub-package keeps its own), the consumer of
    the topics it reads in consumer.py."""
    assert _defined_in(kind) == []


def test_no_module_holds_more_than_one_sub_domain() -> None:
    sources = [path for service in SERVICES for path in _package(service).rglob("*.py")]
    sources += list((ROOT / "libs" / "common" / "src").rglob("*.py"))
    long = {
        str(path.relative_to(ROOT)): count
        for path in sources
        if (count := len(path.read_text().splitlines())) > MAX_LINES
    }
    assert long == {}, "split these by sub-domain"


# --- repository basics ------------------------------------------------------------------------


def test_the_repository_has_a_licence_and_a_contributing_guide() -> None:
    licence = (ROOT / "LICENSE").read_text()
    assert licence.lstrip().startswith("Apache License")
    assert "Version 2.0, January 2004" in licence
    assert "END OF TERMS AND CONDITIONS" in licence
    guide = (ROOT / "CONTRIBUTING.md").read_text()
    for step in ("make up", "make lint", "make typecheck", "make test", "pre-commit"):
        assert step in guide, step


def test_pre_commit_runs_ruff_mypy_and_hadolint_with_the_workspace_tools() -> None:
    config = yaml.safe_load((ROOT / ".pre-commit-config.yaml").read_text())
    hooks = {hook["id"]: hook for repo in config["repos"] for hook in repo["hooks"]}
    assert {"ruff", "ruff-format", "mypy", "hadolint"} <= set(hooks)
    for hook in hooks.values():
        tool = hook["entry"].split()[0]
        assert tool == "make" or (ROOT / tool).exists(), hook["entry"]


def test_renovate_covers_every_ecosystem_of_the_repository() -> None:
    config = json.loads((ROOT / "renovate.json").read_text())
    managers = set(config["enabledManagers"])
    # uv (pyproject.toml + uv.lock), npm, Maven, Actions, Dockerfiles, Terraform, Helm.
    assert {"pep621", "npm", "maven", "github-actions", "dockerfile", "terraform"} <= managers
    assert {"helmv3", "helm-values"} <= managers
    assert config["lockFileMaintenance"]["enabled"] is True
