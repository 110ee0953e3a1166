"""The generated CLI reference and completion scripts stay fresh, and completion stays working and cheap.

No database: everything here reads the command tree or runs ``--help`` and completion requests.
"""

from __future__ import annotations

import importlib.util
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path
from types import ModuleType

import pytest

ROOT = Path(__file__).resolve().parent.parent
GENERATOR = ROOT / "docs" / "generate.py"
BIN = Path(sys.executable).parent
# pyproject.toml's banned-module-level-imports: what --help and completion must not pay for.
HEAVY = (
    "sqlalchemy",
    "alembic",
    "yaml",
    "tabulate",
    "dateutil",
    "tktctl.db",
    "tktctl.core",
    "tktctl.access",
    "tktctl.sla",
    "tktctl.tickets",
    "tktctl.mail",
    "tktctl.automation",
    "tktctl.setup",
    "tktctl.desk",
)


def _load_generator() -> ModuleType:
    """docs/ is not a package: load the script by path, as `python docs/generate.py` would run it."""
    spec = importlib.util.spec_from_file_location("tktctl_docs_generate", GENERATOR)
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def generate() -> ModuleType:
    return _load_generator()


def _tktctl() -> str:
    """The installed console script next to this interpreter: what a shell's completion calls."""
    found = shutil.which("tktctl", path=str(BIN))
    assert found, f"no tktctl executable in {BIN}; install the package (pip install -e .)"
    return found


def _env(**extra: str) -> dict[str, str]:
    """This environment (already stripped of TKTCTL_* by conftest) without stray completion variables."""
    env = {k: v for k, v in os.environ.items() if not k.startswith(("COMP_", "_TYPER_", "_TKTCTL_"))}
    env.update(extra)
    return env


# Freshness --------------------------------------------------------------------------------------


def test_generated_files_are_up_to_date() -> None:
    result = subprocess.run(
        [sys.executable, str(GENERATOR), "--check"], cwd=ROOT, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, f"generated files are stale:\n{result.stderr}{result.stdout}"


def test_check_reports_stale_files_and_writes_nothing(
    generate: ModuleType, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    """The freshness test above is only worth something if --check can fail."""
    monkeypatch.setattr(generate, "ROOT", tmp_path)
    assert generate.main(["--check"]) == 1
    assert list(tmp_path.iterdir()) == []
    assert "stale: docs/cli.md" in capsys.readouterr().err

    assert generate.main([]) == 0
    (tmp_path / "completions" / "tktctl.zsh").write_text("edited by hand\n", encoding="utf-8")
    assert generate.main(["--check"]) == 1
    assert capsys.readouterr().err.splitlines()[0] == "stale: completions/tktctl.zsh"


def test_reference_documents_every_command(generate: ModuleType) -> None:
    text = (ROOT / "docs" / "cli.md").read_text(encoding="utf-8")
    headings = re.findall(r"^## (.+)$", text, flags=re.MULTILINE)
    expected = [" ".join(("tktctl", *path)) for path, _ in generate.command_tree()]
    assert headings == expected
    assert {"tktctl", "tktctl ticket", "tktctl ticket move", "tktctl db status"} <= set(headings)
    assert "Usage: tktctl ticket move [OPTIONS]" in text


def test_every_command_and_group_has_help(generate: ModuleType) -> None:
    offenders = [
        " ".join(("tktctl", *path)) for path, command in generate.command_tree() if not (command.help or "").strip()
    ]
    assert not offenders, f"commands without help text (add a docstring or help=): {', '.join(offenders)}"


@pytest.mark.parametrize("shell", ["bash", "zsh", "fish"])
def test_completion_scripts_call_back_into_tktctl(shell: str) -> None:
    """The variable must be the one Typer derives from prog name "tktctl", or Tab silently does nothing."""
    script = (ROOT / "completions" / f"tktctl.{shell}").read_text(encoding="utf-8")
    assert f"_TKTCTL_COMPLETE=complete_{shell}" in script
    registration = {
        "bash": "complete -o default -F _tktctl_completion tktctl",
        "zsh": "compdef _tktctl_completion tktctl",
        "fish": "complete --command tktctl ",
    }[shell]
    assert registration in script


# Completion really works ------------------------------------------------------------------------


def _offered(shell: str, stdout: str) -> list[str]:
    """The candidate words in a completion answer, whatever the shell's format."""
    if shell == "bash":
        return stdout.splitlines()
    if shell == "zsh":  # _arguments '*: :(("create":"Open a ticket..."\n"show":"..."))'
        return re.findall(r'^(?:_arguments \'\*: :\(\()?"((?:[^"]|"")+)"', stdout, flags=re.MULTILINE)
    return [line.split("\t", 1)[0] for line in stdout.splitlines()]  # fish: value<TAB>help


COMPLETIONS = [
    pytest.param("bash", {"COMP_WORDS": "tktctl tic", "COMP_CWORD": "1"}, ["ticket"], id="bash-noun"),
    pytest.param("bash", {"COMP_WORDS": "tktctl ticket mo", "COMP_CWORD": "2"}, ["move"], id="bash-verb"),
    pytest.param("zsh", {"_TYPER_COMPLETE_ARGS": "tktctl ticket "}, ["create", "move", "close"], id="zsh-verbs"),
    pytest.param(
        "fish",
        {"_TYPER_COMPLETE_ARGS": "tktctl ag", "_TYPER_COMPLETE_FISH_ACTION": "get-args"},
        ["agent"],
        id="fish-noun",
    ),
]


@pytest.mark.parametrize(("shell", "request_env", "expected"), COMPLETIONS)
def test_completion_offers_commands(shell: str, request_env: dict[str, str], expected: list[str]) -> None:
    env = _env(_TKTCTL_COMPLETE=f"complete_{shell}", **request_env)
    result = subprocess.run([_tktctl()], env=env, capture_output=True, text=True, timeout=60, check=False)
    assert result.returncode == 0, result.stderr
    assert not result.stderr, result.stderr
    offered = _offered(shell, result.stdout)
    if shell == "bash":
        assert offered == expected, result.stdout
    else:
        assert set(expected) <= set(offered), result.stdout


@pytest.mark.skipif(shutil.which("bash") is None, reason="bash is not installed")
def test_bash_script_completes_through_the_program() -> None:
    """Source the shipped script in a real bash and press Tab: script, variable and program agree."""
    script = ROOT / "completions" / "tktctl.bash"
    program = f'source "{script}"; COMP_WORDS=(tktctl ticket mo); COMP_CWORD=2; _tktctl_completion tktctl; '
    program += 'printf "%s\\n" "${COMPREPLY[@]}"'
    env = _env(PATH=f"{BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    result = subprocess.run(
        ["bash", "--norc", "--noprofile", "-c", program],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == ["move"], result.stdout + result.stderr


# --help and completion stay light -----------------------------------------------------------------


LIGHT = [
    pytest.param(["--help"], {}, id="help"),
    pytest.param(["ticket", "move", "--help"], {}, id="verb-help"),
    pytest.param(
        [], {"_TKTCTL_COMPLETE": "complete_bash", "COMP_WORDS": "tktctl ticket mo", "COMP_CWORD": "2"}, id="bash"
    ),
    pytest.param([], {"_TKTCTL_COMPLETE": "complete_zsh", "_TYPER_COMPLETE_ARGS": "tktctl ticket "}, id="zsh"),
]


@pytest.mark.parametrize(("args", "request_env"), LIGHT)
def test_help_and_completion_do_not_import_the_database_layer(args: list[str], request_env: dict[str, str]) -> None:
    result = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", "tktctl", *args],
        env=_env(**request_env),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip(), "no output: the request did not run"
    imported = [line for line in result.stderr.splitlines() if line.startswith("import time:")]
    assert imported, "no -X importtime report"
    heavy = [name for name in HEAVY if any(line.endswith(f" {name}") for line in imported)]
    assert not heavy, f"imported on this path (import them inside the function that needs them): {heavy}"


def test_root_listing_repeats_each_commands_own_help() -> None:
    """`tktctl --help` lists nouns from cli.COMMANDS without importing them; the texts must not drift."""
    import typer

    from tktctl.cli import COMMANDS, app

    root = typer.main.get_command(app)
    drifted = {
        name: ((root.commands[name].help or "").strip().splitlines() or [""])[0]  # type: ignore[attr-defined]
        for name, (_module, _attribute, listed) in COMMANDS.items()
        if ((root.commands[name].help or "").strip().splitlines() or [""])[0] != listed  # type: ignore[attr-defined]
    }
    assert drifted == {}, f"update cli.COMMANDS to the commands' own help: {drifted}"
    assert list(root.commands) == list(COMMANDS)  # type: ignore[attr-defined]
