"""Issues 11 and 14: what a cold `tktctl ticket create` loads and does before its statements.

Each case runs one command line in a fresh interpreter, as the installed script would: start-up
work shows only there (the test process has long imported everything).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import Cli
from tests.test_mail_outbox import BUILDER

# Collections of the cyclic GC while the database layer was being imported (SQLAlchemy there, the
# facade not yet built): that import's ~40,000 objects were scanned each time, for nothing.
PROBE = """
import gc, json, sys

during_import = []


def watch(phase, info):
    facade = sys.modules.get("tktctl.desk")
    if phase == "start" and "sqlalchemy" in sys.modules and not hasattr(facade, "Desk"):
        during_import.append(info["generation"])


gc.callbacks.append(watch)
from tktctl import cli

code = cli.run(sys.argv[2:])
verbs = cli.click_app().commands["ticket"].commands
report = {
    "code": code,
    "during_import": during_import,
    "modules": sorted(sys.modules),
    "built": sorted(name for name in verbs if name in verbs._built),
    # Verbs whose option wrapper (commands/_wrap.py) resolved its annotations.
    "resolved": sorted(
        info.name for info in sys.modules["tktctl.commands.ticket"].app.registered_commands
        if "_resolved" in vars(info.callback)
    ),
}
with open(sys.argv[1], "w") as out:
    json.dump(report, out)
"""

# Not needed by a create without files (each was once on its path): the MIME type guesser (files
# only), the import path (--from), the parser of incoming mail, the warm server's client, and the
# libraries that only a config file, table output, free-form times or a schema upgrade need; the
# full-text query parser and its SQL (only the --text filter and `ticket search` use them).
NOT_ON_CREATE = {
    "mimetypes",
    "tktctl.core.textquery",
    "tktctl.tickets.fulltext",
    "tktctl.tickets.transfer",
    "tktctl.tickets.importcheck",
    "tktctl.mail.parse",
    "html.parser",
    "tktctl.server",
    "yaml",
    "tabulate",
    "dateutil",
    "alembic",
    *BUILDER,
}


def _cold(db_url: str, tmp_path: Path, *args: str) -> dict:
    report = tmp_path / "report.json"
    argv = [sys.executable, "-c", PROBE, str(report), "--db", db_url, "ticket", "create", "--title", "cold", *args]
    done = subprocess.run(argv, capture_output=True, text=True, timeout=120, check=False)
    assert done.returncode == 0, done.stderr[-2000:]
    result = json.loads(report.read_text())
    assert result["code"] == 0, done.stderr[-2000:]
    return {**result, "stdout": done.stdout}


def test_cold_create_loads_only_what_it_uses(db_url: str, tmp_path: Path) -> None:
    result = _cold(db_url, tmp_path, "-q")
    assert sorted(NOT_ON_CREATE & set(result["modules"])) == []
    # The `ticket` noun builds only the verb that runs (Typer reads each verb's signature to build it).
    assert result["built"] == ["create"]
    assert result["resolved"] == ["create"]  # and reads only its signature (all of them: ~5 ms)
    # The collector stays paused while the database layer is imported (`--attach` used to import it
    # first, from outside the pause: ~140 collections over it, ~60 ms).
    assert result["during_import"] == []


def test_cold_create_with_a_file_imports_the_database_layer_paused(
    cli: Cli, db_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    (tmp_path / "notes.txt").write_text("some notes\n")
    monkeypatch.chdir(tmp_path)
    result = _cold(db_url, tmp_path, "--body", "see the file", "--attach", "notes.txt", "-o", "json")
    assert result["during_import"] == []
    tn = json.loads(result["stdout"])["tn"]
    files = cli("ticket", "attachments", tn, "-o", "json").json
    assert [(f["filename"], f["content_type"], f["size"]) for f in files] == [("notes.txt", "text/plain", 11)]


def test_the_mail_service_leaves_smtp_to_mail_send() -> None:
    """`mail process`, `mail fetch` and `ticket reply` load the mail service; only `mail send` talks SMTP."""
    probe = "import sys, tktctl.mail.service; print(sorted({'smtplib', 'tktctl.mail.send'} & set(sys.modules)))"
    done = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, timeout=60, check=True)
    assert done.stdout.strip() == "[]", done.stdout
