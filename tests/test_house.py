"""The house: the layers hold, no module grows past a readable size, and the public API stays put.

`lint-imports` runs here as in CI, and once more on a copy of the package with `import typer`
added to a domain module, to show that the contracts catch what they promise to.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "tktctl"
LINT = Path(sys.executable).parent / "lint-imports"
MAX_LINES = 450
DOMAIN = ("core", "access", "sla", "tickets", "mail", "automation", "setup")


def _lint(cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(LINT), "--no-cache"], cwd=cwd, capture_output=True, text=True, timeout=300, check=False)


def test_the_import_contracts_are_kept() -> None:
    result = _lint(ROOT)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "4 kept, 0 broken" in result.stdout


@pytest.mark.parametrize(
    ("module", "line", "broken"),
    [
        ("tickets/numbering.py", "import typer", "never import Typer"),
        ("sla/deadlines.py", "from tktctl.mail import outbound", "Layers"),
        ("tickets/records.py", "from tktctl.tickets import verbs", "No import cycles"),
        ("core/lookup.py", "from tktctl import desk", "Layers"),
    ],
)
def test_a_forbidden_import_breaks_a_contract(tmp_path: Path, module: str, line: str, broken: str) -> None:
    """The contracts are not vacuous: each kind of wrong arrow, added to a copy, fails lint-imports."""
    shutil.copytree(PACKAGE, tmp_path / "tktctl", ignore=shutil.ignore_patterns("__pycache__"))
    shutil.copy(ROOT / "pyproject.toml", tmp_path / "pyproject.toml")
    target = tmp_path / "tktctl" / module
    target.write_text(target.read_text(encoding="utf-8") + f"\n{line}  # noqa\n", encoding="utf-8")
    result = subprocess.run(
        [str(LINT), "--no-cache"],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
        env={"PYTHONPATH": str(tmp_path), "PATH": "/usr/bin:/bin"},
    )
    assert result.returncode != 0, result.stdout
    assert "Broken contracts" in result.stdout, result.stdout
    broken_section = result.stdout.split("Broken contracts", 1)[1]
    assert broken in broken_section, result.stdout


def test_no_module_is_over_the_size_a_reader_takes_in() -> None:
    sizes = {
        p.relative_to(ROOT).as_posix(): len(p.read_text(encoding="utf-8").splitlines()) for p in PACKAGE.rglob("*.py")
    }
    over = {path: n for path, n in sizes.items() if n > MAX_LINES and "/migrations/" not in path}
    assert not over, f"split these by what they hold (limit {MAX_LINES} lines): {over}"


def test_the_domain_lives_in_its_packages() -> None:
    assert not (PACKAGE / "services").exists()
    for name in DOMAIN:
        assert (PACKAGE / name / "__init__.py").read_text(encoding="utf-8").startswith('"""'), name


def test_the_public_api_is_where_the_readme_says() -> None:
    code = (
        "import sys; import tktctl; assert 'sqlalchemy' not in sys.modules; "
        "from tktctl import Desk; from tktctl.api import Desk as D, TicketFilter, NumberSettings; "
        "from tktctl.desk import Desk as E; assert Desk is D is E; print(Desk.__module__)"
    )
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert result.stdout.strip() == "tktctl.desk"
