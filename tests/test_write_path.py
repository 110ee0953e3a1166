"""One write path: only the primitive modules write the ticket tables.

Every change to a ticket (a verb, an import, a mail follow-up, a job, an escalation action,
`batch`, the Python API) must go through ``tktctl/tickets/changes.py``, which checks the lock,
writes the history row and refreshes the deadlines. This test reads the source (ast) and fails
when any other module builds an INSERT/UPDATE/DELETE on a ticket table, constructs a ticket
model object, or carries raw SQL that writes one, unless the (module, operation, table) is in
:data:`ALLOWED` with its reason.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterator
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parent.parent / "tktctl"
# The models of the ticket tables, by the table they map.
TICKET_MODELS = {
    "Ticket": "ticket",
    "Article": "article",
    "Attachment": "article_attachment",
    "ArticlePlain": "article_plain",
    "History": "ticket_history",
}
TICKET_TABLES = set(TICKET_MODELS.values())
WRITES = {"insert", "update", "delete"}
RAW_WRITE = re.compile(r"\b(INSERT\s+INTO|UPDATE|DELETE\s+FROM)\s+[`\"]?(\w+)", re.IGNORECASE)

# (module, operation, table) -> why this module may write that table directly.
ALLOWED: dict[tuple[str, str, str], str] = {
    ("tickets/changes.py", "insert", "ticket"): "the primitive: insert_ticket",
    ("tickets/changes.py", "update", "ticket"): "the primitive: apply (guarded UPDATE after its history rows)",
    ("tickets/changes.py", "insert", "ticket_history"): "the primitive: apply's INSERT … SELECT, add_history",
    ("tickets/changes.py", "insert", "article"): "the primitive: add_article, add_notes",
    ("sla/deadlines.py", "update", "ticket"): "the deadline index only (escalation_* columns, "
    "first_closed_at): derived data that changes.py refreshes through it",
    ("automation/escalation.py", "update", "ticket"): "escalation_fired_at only: when the run last fired "
    "(derived data; the run's history rows and actions go through changes.py)",
    ("tickets/transfer.py", "insert", "article"): "the import's bulk insert of checked records "
    "(one executemany per batch; history rows go through the same bulk path)",
    ("tickets/transfer.py", "insert", "article_attachment"): "the import's bulk insert of attachment metadata",
    ("db/bulk.py", "insert", "<dynamic>"): "insert_rows: the import's bulk insert (COPY/executemany) "
    "and `db copy`, which copies every table verbatim into an empty database",
    # Issue 12, part A (t12a):
    ("tickets/purge.py", "delete", "ticket"): "`ticket delete` (Maint::Ticket::Delete): rows leave the desk, "
    "no history can stay with them; the audit entry records it",
    ("tickets/purge.py", "delete", "<dynamic>"): "`ticket delete`: every table referring to the deleted tickets, "
    "from the foreign keys",
    ("tickets/purge.py", "update", "<dynamic>"): "`ticket delete`: another ticket's reference to a deleted one "
    "set to NULL (none today; tables added later)",
    ("setup/types.py", "update", "ticket"): "a type's rename: the key (ticket.type) follows, as OTRS's type_id "
    "would, without history; audited",
    ("tickets/merge.py", "update", "article"): "`ticket merge` moves the merged tickets' articles to the target "
    "(one UPDATE per chunk; the Merged history rows and the note go through changes.py)",
    ("tickets/merge.py", "insert", "ticket_history"): "`ticket merge`: the target's Merged rows, one INSERT … SELECT "
    "(the merged tickets' own rows go through changes.apply)",
    ("tickets/merge.py", "insert", "article"): "`ticket split` copies one article into the new ticket (its "
    "history through changes.add_history)",
    ("tickets/merge.py", "insert", "article_attachment"): "`ticket split` copies that article's attachments",
    ("tickets/attach.py", "insert", "article_attachment"): "files attached by an agent (`--attach`), right "
    "after changes.add_article / add_notes in the same transaction (the article carries the history)",
    ("db/blobs.py", "insert", "<dynamic>"): "insert_rows: attachments and raw messages (article_attachment, "
    "article_plain) right after changes.add_article in the same transaction (the article carries the "
    "history): mail in, agents' files too large for one MySQL statement, the raw of a sent answer",
    ("db/blobs.py", "update", "<dynamic>"): "insert_rows: the rest of such a value, CONCAT piece by piece "
    "(MySQL/MariaDB's max_allowed_packet), on the row it has just inserted",
    ("access/acl.py", "insert", "<dynamic>"): "grant rows: `model` is AgentGrant or RoleGrant, never a ticket table",
    ("access/acl.py", "delete", "<dynamic>"): "grant rows: `model` is AgentGrant or RoleGrant, never a ticket table",
}

# Direct writes that are holes a colleague is closing: the lead removes the entry after the merge,
# and `test_known_hole_is_still_open` (strict xfail) tells when that is due.
KNOWN_HOLES: dict[tuple[str, str, str], str] = {}


def _table_of(node: ast.expr) -> str:
    """The ticket table an expression names (``Ticket``, ``Ticket.__table__``), else '<dynamic>'."""
    if isinstance(node, ast.Attribute) and node.attr == "__table__":
        node = node.value
    if isinstance(node, ast.Name) and node.id in TICKET_MODELS:
        return TICKET_MODELS[node.id]
    if isinstance(node, ast.Name) and node.id[:1].isupper():
        return "<other model>"
    return "<dynamic>"


def writes(source: str) -> Iterator[tuple[str, str, int]]:
    """Every (operation, table, line) in ``source`` that writes, or may write, a ticket table."""
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Call):
            name = node.func.id if isinstance(node.func, ast.Name) else None
            if name in WRITES and node.args:
                table = _table_of(node.args[0])
                if table != "<other model>":
                    yield name, table, node.lineno
            elif name in TICKET_MODELS:
                yield "construct", TICKET_MODELS[name], node.lineno
        elif isinstance(node, ast.Constant) and isinstance(node.value, str):
            for match in RAW_WRITE.finditer(node.value):
                if match.group(2).lower() in TICKET_TABLES:
                    yield f"raw {match.group(1).split()[0].lower()}", match.group(2).lower(), node.lineno


def found() -> dict[tuple[str, str, str], list[int]]:
    """(module, operation, table) -> lines, over the whole package except migrations (schema, not data)."""
    result: dict[tuple[str, str, str], list[int]] = {}
    for path in sorted(PACKAGE.rglob("*.py")):
        module = path.relative_to(PACKAGE).as_posix()
        if module.startswith("db/migrations/"):
            continue
        for operation, table, line in writes(path.read_text(encoding="utf-8")):
            result.setdefault((module, operation, table), []).append(line)
    return result


def test_only_the_primitives_write_ticket_tables() -> None:
    outside = {key: lines for key, lines in found().items() if key not in ALLOWED and key not in KNOWN_HOLES}
    assert not outside, "ticket tables written outside the primitives (route it through changes.py):\n" + "\n".join(
        f"  tktctl/{m}:{lines} {op} {table}" for (m, op, table), lines in sorted(outside.items())
    )


def test_every_allowance_is_still_used() -> None:
    """A stale allowance would let a future write slip in unnoticed."""
    unused = set(ALLOWED) - set(found())
    assert not unused, unused


@pytest.mark.parametrize(
    "hole",
    [pytest.param(key, marks=pytest.mark.xfail(strict=True, reason=why)) for key, why in KNOWN_HOLES.items()],
    ids=lambda key: ":".join(key),
)
def test_known_hole_is_closed(hole: tuple[str, str, str]) -> None:
    assert hole not in found()


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        ("update(Ticket).values(x=1)", ("update", "ticket")),
        ("insert(History.__table__)", ("insert", "ticket_history")),
        ("session.add(Article(ticket_id=1))", ("construct", "article")),
        ("delete(table)", ("delete", "<dynamic>")),
        ("text('UPDATE ticket SET title = 1')", ("raw update", "ticket")),
        ("text('delete from ticket_history')", ("raw delete", "ticket_history")),
    ],
)
def test_the_scan_sees_each_kind_of_write(source: str, expected: tuple[str, str]) -> None:
    assert [w[:2] for w in writes(source)] == [expected]


def test_the_scan_ignores_other_tables() -> None:
    assert list(writes("update(MailOutbox).values(x=1); insert(Notification); text('UPDATE job SET x=1')")) == []
