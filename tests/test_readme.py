"""The docs run: every shell block of README.md runs against a scratch desk, so examples cannot drift.

Each ```sh, ```bash or ```console block runs with bash (``set -euo pipefail``) in its own
temp dir, with ``TKTCTL_DB`` on a fresh initialised SQLite desk, ``HOME`` and the XDG dirs
in that dir and the installed ``tktctl`` first on PATH; in a console block only the ``$ ``
lines (and their continuations) run. An HTML comment right before a block adjusts it:

- ``<!-- readme-test: setup: COMMANDS -->`` runs COMMANDS first, in the same shell;
- ``<!-- readme-test: exit: N -->`` the block ends with exit status N (an example of a failure);
- ``<!-- readme-test: skip: REASON -->`` does not run it (keep these few);
- ``<!-- readme-test: xfail: REASON -->`` is expected to fail until REASON is done (strict: the
  lead removes the marker when the fix lands).

YAML blocks whose first line names a file (``# queues.yaml: ...``) are written into every
block's dir under that name, so the shell examples apply the documented files.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any, NamedTuple

import pytest

README = Path(__file__).resolve().parent.parent / "README.md"
SHELLS = ("sh", "bash", "console")
FENCE = re.compile(r"^(?P<indent> *)```(?P<lang>[\w-]*)\s*$")
MARKER = re.compile(r"^\s*<!-- readme-test: (?P<kind>setup|skip|xfail|exit): (?P<value>.*?) -->\s*$")
FILE_NAME = re.compile(r"^# (?P<name>[\w.-]+\.ya?ml)\b")
PROMPT = "$ "


class Block(NamedTuple):
    line: int
    lang: str
    text: str
    markers: dict[str, str]


def blocks(path: Path = README) -> list[Block]:
    """The fenced blocks of a Markdown file, with the readme-test markers just before each."""
    lines = path.read_text(encoding="utf-8").splitlines()
    found: list[Block] = []
    index = 0
    while index < len(lines):
        opening = FENCE.match(lines[index])
        if opening is None or not opening["lang"]:
            index += 1
            continue
        indent, start = len(opening["indent"]), index
        markers: dict[str, str] = {}
        back = start - 1
        while back >= 0 and (marker := MARKER.match(lines[back])):
            markers.setdefault(marker["kind"], marker["value"])
            back -= 1
        index += 1
        body: list[str] = []
        while index < len(lines) and lines[index].strip() != "```":
            body.append(lines[index][indent:])
            index += 1
        found.append(Block(start + 1, opening["lang"], "\n".join(body) + "\n", markers))
        index += 1
    return found


def commands(block: Block) -> str:
    """The script of a block: all of a sh/bash block; a console block's prompted lines."""
    if block.lang != "console":
        return block.text
    script: list[str] = []
    continued = False
    for line in block.text.splitlines():
        if line.startswith(PROMPT) or continued:
            script.append(line.removeprefix(PROMPT) if not continued else line)
            continued = line.rstrip().endswith("\\")
    return "\n".join(script) + "\n"


def files(found: list[Block]) -> dict[str, str]:
    """The YAML examples that name their file on their first line."""
    named = {}
    for block in found:
        match = FILE_NAME.match(block.text) if block.lang == "yaml" else None
        if match:
            named[match["name"]] = block.text
    return named


ALL = blocks()
SHELL_BLOCKS = [b for b in ALL if b.lang in SHELLS]


def _param(block: Block) -> object:
    marks = []
    if "skip" in block.markers:
        marks.append(pytest.mark.skip(reason=block.markers["skip"]))
    if "xfail" in block.markers:
        marks.append(pytest.mark.xfail(reason=block.markers["xfail"], strict=True))
    return pytest.param(block, id=f"line{block.line}", marks=marks)


def test_readme_markers_are_known_and_skips_few() -> None:
    text = README.read_text(encoding="utf-8")
    assert text.count("<!-- readme-test:") == sum(len(b.markers) for b in ALL), "a marker not right before a block"
    assert sum("skip" in b.markers for b in SHELL_BLOCKS) <= 6


def _run(block: Block, where: Path, template: Path) -> subprocess.CompletedProcess[str]:
    """One block in its own dir on its own copy of the initialised desk."""
    where.mkdir()
    for name, content in files(ALL).items():
        (where / name).write_text(content, encoding="utf-8")
    shutil.copyfile(template, where / "desk.db")
    bin_dir = str(Path(sys.executable).parent)  # the venv's tktctl, as a user's PATH has it
    env = {
        **os.environ,
        "HOME": str(where),
        "XDG_DATA_HOME": str(where / ".local" / "share"),
        "XDG_CONFIG_HOME": str(where / ".config"),
        "TKTCTL_DB": f"sqlite:///{where / 'desk.db'}",
        "PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}",
    }
    script = f"set -euo pipefail\n{block.markers.get('setup', '')}\n{commands(block)}"
    return subprocess.run(
        ["bash", "-c", script], cwd=where, env=env, capture_output=True, text=True, timeout=300, check=False
    )


@pytest.fixture(scope="module")
def runs(tmp_path_factory: pytest.TempPathFactory, sqlite_template: Path) -> dict[int, Any]:
    """Every block that is not skipped, run a few at a time (they share nothing): a minute, not four."""
    root = tmp_path_factory.mktemp("readme")
    todo = [b for b in SHELL_BLOCKS if "skip" not in b.markers]
    with ThreadPoolExecutor(max_workers=4) as pool:
        futures = {b.line: pool.submit(_run, b, root / f"line{b.line}", sqlite_template) for b in todo}
    return {line: future.result() for line, future in futures.items()}


@pytest.mark.parametrize("block", [_param(b) for b in SHELL_BLOCKS])
def test_readme_shell_block_runs(block: Block, runs: dict[int, Any]) -> None:
    done = runs[block.line]
    expected = int(block.markers.get("exit", "0"))
    assert done.returncode == expected, (
        f"README.md line {block.line} exited {done.returncode}, expected {expected}\n"
        f"--- script\n{done.args[-1]}\n--- stderr\n{done.stderr[-3000:]}"
    )
