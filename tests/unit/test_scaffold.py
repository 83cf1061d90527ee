"""The service scaffold: names it refuses, what it generates, and how it registers a service."""

from __future__ import annotations

import filecmp
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from ruamel.yaml import YAML

from streamforge.commands import scaffold
from streamforge.model.schema.service import Service
from tests.conftest import REPO, missing

TEMPLATE = REPO / scaffold.SCAFFOLD
LONGEST = "a" + "-b" * 19 + "c"  # 40 characters, the longest name allowed


def _files(folder: Path) -> set[str]:
    return {
        p.relative_to(folder).as_posix()
        for p in folder.rglob("*")
        if p.is_file() and "__pycache__" not in p.parts
    }


@pytest.mark.parametrize(
    ("name", "says"),
    [
        ("Order_Enricher", "is not a DNS label"),
        ("1st-service", "is not a DNS label"),
        ("trailing-", "is not a DNS label"),
        (LONGEST + "x", "use at most 40"),
        ("kafka", "is reserved"),
        ("docs", "is reserved"),
        ("kube-system", "is reserved"),
        ("k3-kafka-bootstrap", "is reserved"),
        ("traefik", "is reserved"),
        ("dummy-service", "already exists"),
        ("async", "'async', which is a Python keyword; pick another name, e.g. 'async-service'"),
        ("email", "a standard-library module; pick another name, e.g. 'email-service'"),
        ("match", "a Python soft keyword; pick another name, e.g. 'match-service'"),
        ("type", "a Python soft keyword"),
        ("json", "a standard-library module"),
    ],
)
def test_bad_names_are_refused_with_one_line_and_nothing_written(
    tmp_path: Path, name: str, says: str
) -> None:
    output = tmp_path / "services"
    output.mkdir()
    if says == "already exists":
        (output / name).mkdir()
    before = _files(tmp_path) | {p.name for p in output.iterdir()}
    with pytest.raises(scaffold.ScaffoldError) as refused:
        scaffold.generate(REPO, name, output_dir=output)
    message = str(refused.value)
    assert says in message
    assert "\n" not in message
    assert _files(tmp_path) | {p.name for p in output.iterdir()} == before


def test_the_hook_alone_refuses_and_cookiecutter_leaves_nothing(tmp_path: Path) -> None:
    """`cookiecutter scaffolds/python-service` without the toolkit gets the same check."""
    script = (
        "import sys\n"
        "from cookiecutter.main import cookiecutter\n"
        "from cookiecutter.exceptions import FailedHookException\n"
        "try:\n"
        f"    cookiecutter({str(TEMPLATE)!r}, no_input=True, output_dir={str(tmp_path)!r},\n"
        "                 extra_context={'name': 'Bad_Name'},\n"
        f"                 default_config={{'replay_dir': {str(tmp_path / '.r')!r}}})\n"
        "except FailedHookException:\n"
        "    sys.exit(3)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, check=False
    )
    assert result.returncode == 3, result.stderr
    assert "error: service name 'Bad_Name' is not a DNS label" in result.stderr
    assert [p.name for p in tmp_path.iterdir() if p.name != ".r"] == []


def _regenerate(service_dir: Path, output: Path) -> Path:
    """Generate the service again from the scaffold with the inputs its service.yaml records."""
    data = YAML(typ="safe").load((service_dir / "service.yaml").read_text())
    return scaffold.generate(
        REPO,
        data["name"],
        description=data["description"],
        owner=data["owner"],
        port=data["port"],
        output_dir=output,
    )


def test_dummy_service_is_what_the_scaffold_generates_beyond_its_own_code(
    tmp_path: Path,
) -> None:
    """Everything outside src/ and tests/ (the service's own code) matches byte for byte, so a
    scaffold change must be carried to services/dummy-service in the same commit."""
    committed = REPO / "services" / "dummy-service"
    fresh = _regenerate(committed, tmp_path)
    ours, theirs = _files(committed), _files(fresh)

    def platform_part(files: set[str]) -> set[str]:
        return {f for f in files if f.split("/", 1)[0] not in scaffold.OWN_CODE}

    assert platform_part(ours) == platform_part(theirs), "files added or missing"
    differing = [
        f for f in sorted(platform_part(ours)) if not filecmp.cmp(committed / f, fresh / f, False)
    ]
    assert differing == [], f"regenerate services/dummy-service: {differing} differ"
    # its own code may have grown, but the entry point and the tests the scaffold gave are there
    assert {"src/dummy_service/__main__.py", "tests/conftest.py"} <= ours


def test_generated_service_is_a_valid_service_model(tmp_path: Path) -> None:
    folder = scaffold.generate(
        REPO, "order-enricher", description='Adds "prices" to orders', output_dir=tmp_path
    )
    service = Service.model_validate(YAML(typ="safe").load(folder / "service.yaml"))
    assert service.description == 'Adds "prices" to orders'
    assert service.kafka.user == "order-enricher"
    assert [t.name for t in service.kafka.topics] == ["order-enricher.events"]
    assert 'CMD ["python", "-m", "order_enricher"]' in (folder / "Dockerfile").read_text()
    ci = YAML(typ="safe").load(folder / ".gitlab-ci.yml")
    assert ci["build:order-enricher"]["variables"] == {
        "SERVICE_NAME": "order-enricher",
        "SERVICE_PATH": "services/order-enricher",
    }


def test_longest_name_passes_the_repository_lint(tmp_path: Path) -> None:
    ruff = shutil.which("ruff", path=str(Path(sys.executable).parent)) or shutil.which("ruff")
    if ruff is None:
        missing("ruff is not installed (pip install -e .[test])")
    assert ruff is not None
    shutil.copy(REPO / "pyproject.toml", tmp_path / "pyproject.toml")
    (tmp_path / "services").mkdir()
    shutil.copy(REPO / "services" / "ruff.toml", tmp_path / "services" / "ruff.toml")
    scaffold.generate(REPO, LONGEST, output_dir=tmp_path / "services")
    for check in (["check"], ["format", "--check"]):
        result = subprocess.run(
            [ruff, *check, "--no-cache", "services"],
            cwd=tmp_path,
            capture_output=True,
            text=True,
            check=False,
        )
        assert result.returncode == 0, result.stdout + result.stderr


def _repo_files(tmp_path: Path) -> Path:
    root = tmp_path / "repo"
    for rel in ("mkdocs.yml", ".gitlab-ci.yml", "scaffolds", "platform/components"):
        source = REPO / rel
        if source.is_dir():
            shutil.copytree(source, root / rel)
        else:
            (root / rel).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy(source, root / rel)
    return root


def test_new_service_registers_docs_and_ci_keeping_comments(tmp_path: Path) -> None:
    root = _repo_files(tmp_path)
    mkdocs_before = (root / "mkdocs.yml").read_text()
    ci_before = (root / ".gitlab-ci.yml").read_text()

    folder, changed = scaffold.new_service(root, "order-enricher", owner="data")

    assert folder == root / "services" / "order-enricher"
    assert {p.relative_to(root).as_posix() for p in changed} == {
        "docs/services/order-enricher.md",
        "mkdocs.yml",
        ".gitlab-ci.yml",
    }
    mkdocs_after = (root / "mkdocs.yml").read_text()
    added = [line for line in mkdocs_after.splitlines() if line not in mkdocs_before.splitlines()]
    assert added == ["      - order-enricher: services/order-enricher.md"]
    assert len(mkdocs_after.splitlines()) == len(mkdocs_before.splitlines()) + 1
    nav = YAML(typ="rt").load(mkdocs_after)["nav"]
    services = next(item["Services"] for item in nav if "Services" in item)
    assert services[0] == "services/index.md"
    assert {"order-enricher": "services/order-enricher.md"} in services

    ci_after = (root / ".gitlab-ci.yml").read_text()
    assert ci_after.startswith(ci_before.rstrip("\n"))  # comments and order kept, one line added
    assert ci_after.splitlines()[-1] == "  - local: services/order-enricher/.gitlab-ci.yml"
    page = (root / "docs" / "services" / "order-enricher.md").read_text()
    assert page.startswith("# order-enricher\n")
    assert "| owner | data |" in page

    # registering again changes nothing
    assert scaffold.register(root, "order-enricher") == []
    assert (root / "mkdocs.yml").read_text() == mkdocs_after


def test_services_are_listed_in_name_order(tmp_path: Path) -> None:
    root = _repo_files(tmp_path)
    for name in ("zeta-service", "alpha-service"):
        scaffold.new_service(root, name)
    nav = YAML(typ="rt").load((root / "mkdocs.yml").read_text())["nav"]
    services = next(
        item["Services"] for item in nav if isinstance(item, dict) and "Services" in item
    )
    names = [next(iter(e)) for e in services if isinstance(e, dict)]
    assert names == sorted(names)
    assert names.index("alpha-service") < names.index("zeta-service")


@pytest.mark.parametrize("name", ["async", "email", "match", "lambda", "json"])
def test_the_suggested_name_for_a_python_clash_is_accepted(name: str) -> None:
    problem = scaffold.name_problem(REPO, name)
    assert problem is not None
    suggestion = problem.rsplit("e.g. '", 1)[1].rstrip("'")
    assert scaffold.name_problem(REPO, suggestion) is None
