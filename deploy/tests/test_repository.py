"""The repository stands alone: what a user clones is all the documentation there is."""

import ast
import re
import subprocess
from pathlib import Path

from cloudmart_common import topology
from cloudmart_local.layout import ROOT

# Documents that lived outside the repository while it was built; citing one sends a reader
# nowhere. The project's own are docs/architecture.md and docs/adr/.
OUTSIDE = ("DESIGN.md", "RECIPES.md", "STYLE.md", "../shared")
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
