"""Links, merge, split and --linked-to (issue 12), end to end through the command line, on every backend."""

from __future__ import annotations

import subprocess
import sys
from email.message import EmailMessage
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import Cli, dump
from tktctl.api import Desk


def _new(cli: Cli, title: str, *extra: str) -> str:
    return cli("ticket", "create", "--title", title, "--body", f"body of {title}", *extra, "-q").stdout.strip()


def _show(cli: Cli, tn: str) -> dict[str, Any]:
    return cli("ticket", "show", tn, "-o", "json").json


def _history(cli: Cli, tn: str, kind: str) -> list[dict[str, Any]]:
    return [h for h in cli("ticket", "history", tn, "-o", "json").json if h["type"] == kind]


def test_a_normal_link_is_one_row_seen_from_both_ends(cli: Cli, desk: Desk) -> None:
    a, b = _new(cli, "A"), _new(cli, "B")
    (made,) = cli("ticket", "link", a, b, "-o", "json").json
    assert (made["ticket"], made["tn"], made["type"], made["relation"]) == (a, b, "normal", "normal")
    assert [x["tn"] for x in cli("ticket", "links", a, "-o", "json").json] == [b]
    assert [x["tn"] for x in cli("ticket", "links", b, "-o", "json").json] == [a]
    assert cli("ticket", "links", b, "-q").stdout.split() == [a]
    assert len(dump(desk.url)["ticket_link"]) == 1
    # Linking again, either way round, changes nothing.
    cli("ticket", "link", b, a)
    assert len(dump(desk.url)["ticket_link"]) == 1
    assert len(_history(cli, a, "TicketLinkAdd")) == len(_history(cli, b, "TicketLinkAdd")) == 1
    assert _show(cli, a)["links"] == [{"tn": b, "type": "normal", "relation": "normal"}]
    # Another type between the same two is a conflict, and changes nothing.
    before = dump(desk.url)
    assert "already linked" in cli("ticket", "link", a, b, "--type", "parent-child", expect=5).stderr
    assert dump(desk.url) == before
    cli("ticket", "unlink", b, a)
    assert cli("ticket", "links", a, "-o", "json").json == []
    assert len(_history(cli, a, "TicketLinkDelete")) == len(_history(cli, b, "TicketLinkDelete")) == 1
    assert "not linked" in cli("ticket", "unlink", a, b, expect=5).stderr
    assert "itself" in cli("ticket", "link", a, a, expect=2).stderr
    assert "choose one of" in cli("ticket", "link", a, b, "--type", "sibling", expect=2).stderr


def test_parent_child_is_directed(cli: Cli) -> None:
    parent, child = _new(cli, "parent"), _new(cli, "child")
    cli("ticket", "link", parent, child, "--type", "parent-child")
    (down,) = cli("ticket", "links", parent, "-o", "json").json
    (up,) = cli("ticket", "links", child, "-o", "json").json
    assert (down["tn"], down["relation"]) == (child, "child")
    assert (up["tn"], up["relation"]) == (parent, "parent")


def test_link_dry_run_writes_nothing(cli: Cli, desk: Desk) -> None:
    a, b = _new(cli, "A"), _new(cli, "B")
    before = dump(desk.url)
    (shown,) = cli("ticket", "link", a, b, "--dry-run", "-o", "json").json
    assert shown["tn"] == b
    assert dump(desk.url) == before


def test_link_needs_rw_on_the_first_and_ro_on_the_other(cli: Cli, desk: Desk) -> None:
    desk.groups.create("secret")
    desk.queues.create("Secret", group="secret")
    desk.agents.create("bob")
    desk.acl.grant("ro", group="users", agent="bob")
    mine, readable, hidden = _new(cli, "mine"), _new(cli, "readable"), _new(cli, "hidden", "--queue", "Secret")
    before = dump(desk.url)
    assert "needs 'rw'" in cli("--as", "bob", "ticket", "link", mine, readable, expect=4).stderr
    assert cli("--as", "bob", "ticket", "link", hidden, mine, expect=3).stderr.endswith(f"ticket {hidden} not found\n")
    assert dump(desk.url) == before
    desk.acl.grant("rw", group="users", agent="bob")
    cli("--as", "bob", "ticket", "link", mine, readable)
    assert cli("--as", "bob", "ticket", "link", mine, hidden, expect=3).stderr.endswith(f"ticket {hidden} not found\n")
    # A link root made to a ticket bob may not see is left out of what bob is shown.
    cli("ticket", "link", hidden, mine)
    assert [x["tn"] for x in cli("--as", "bob", "ticket", "links", mine, "-o", "json").json] == [readable]
    assert hidden not in cli("--as", "bob", "ticket", "show", mine).stdout
    assert hidden not in cli("--as", "bob", "ticket", "history", mine).stdout


def test_linked_to_filter_on_list_count_stats_export_and_verbs(cli: Cli) -> None:
    hub, one, two, alone = _new(cli, "hub"), _new(cli, "one"), _new(cli, "two"), _new(cli, "alone")
    cli("ticket", "link", hub, one)
    cli("ticket", "link", two, hub, "--type", "parent-child")
    assert sorted(cli("ticket", "list", "--linked-to", hub, "-q").stdout.split()) == sorted([one, two])
    assert cli("ticket", "list", "--linked-to", one, "-q").stdout.split() == [hub]
    assert cli("ticket", "count", "--linked-to", hub, "-o", "json").json == {"count": 2}
    stats = cli("stats", "--by", "state", "--linked-to", hub, "-o", "json").json
    assert stats == [{"state": "new", "count": 2, "time_units": 0.0}]
    assert {t["tn"] for t in cli("ticket", "export", "--linked-to", hub, "-o", "jsonl").jsonl} == {one, two}
    cli("ticket", "close", "--linked-to", hub)
    assert {t["tn"]: t["state"] for t in cli("ticket", "list", "-o", "json").json} == {
        hub: "new",
        one: "closed successful",
        two: "closed successful",
        alone: "new",
    }
    assert "not found" in cli("ticket", "list", "--linked-to", "2000", expect=3).stderr


def _mail(subject: str, body: str = "more news", message_id: str = "<m1@example.com>") -> str:
    return f"From: alice@example.com\nTo: desk@example.com\nSubject: {subject}\nMessage-ID: {message_id}\n\n{body}\n"


def test_merge_moves_articles_links_and_sets_merged(cli: Cli, desk: Desk) -> None:
    target, a, b = _new(cli, "target"), _new(cli, "A"), _new(cli, "B")
    cli("ticket", "lock", a)
    merged = cli("ticket", "merge", a, b, "--into", target, "-o", "json").json
    assert [(t["tn"], t["state"], t["lock"]) for t in merged] == [(a, "merged", "unlocked"), (b, "merged", "unlocked")]
    shown = _show(cli, target)
    assert [x["body"] for x in shown["articles"]] == ["body of target", "body of A", "body of B"]
    assert shown["merged_from"] == [a, b] and shown["merged_into"] is None
    assert shown["links"] == [
        {"tn": a, "type": "parent-child", "relation": "child"},
        {"tn": b, "type": "parent-child", "relation": "child"},
    ]
    old = _show(cli, a)
    assert old["merged_into"] == target and old["state_type"] == "merged"
    assert [x["subject"] for x in old["articles"]] == ["Ticket Merged"]  # the note OTRS leaves
    assert target in old["articles"][0]["body"]
    assert [h["data"] for h in _history(cli, a, "Merged")] == [{"merged": a, "into": target}]
    assert [h["data"]["merged"] for h in _history(cli, target, "Merged")] == [a, b]
    assert {h["data"]["to"] for h in _history(cli, a, "StateUpdate")} == {"merged"}
    assert _history(cli, a, "Unlock")
    # A merged ticket cannot be merged again, nor be a target, nor take a state by hand.
    assert "already merged" in cli("ticket", "merge", a, "--into", target, expect=5).stderr
    assert "merged" in cli("ticket", "merge", target, "--into", a, expect=5).stderr
    assert "itself" in cli("ticket", "merge", target, "--into", target, expect=2).stderr


def test_merge_by_filter_leaves_out_the_target_and_dry_run_writes_nothing(cli: Cli, desk: Desk) -> None:
    tns = [_new(cli, f"alert {i}", "--customer", "nagios@example.com") for i in range(4)]
    before = dump(desk.url)
    preview = cli("ticket", "merge", "--customer", "nagios@example.com", "--into", tns[0], "--dry-run", "-o", "json")
    assert {t["tn"]: t["state"] for t in preview.json} == {tns[0]: "new", **dict.fromkeys(tns[1:], "merged")}
    assert '"dry_run": true' in preview.stderr
    assert dump(desk.url) == before
    cli("ticket", "merge", "--customer", "nagios@example.com", "--into", tns[0])
    assert len(_show(cli, tns[0])["articles"]) == 4
    # Rerun: the merged ones are left out, nothing happens.
    again = cli("ticket", "merge", "--customer", "nagios@example.com", "--into", tns[0], "-o", "json")
    assert "0 changed" in again.stderr or '"changed": 0' in again.stderr


def test_merge_is_atomic_and_continue_on_error_reports_each(cli: Cli, desk: Desk) -> None:
    target, a, b = _new(cli, "target"), _new(cli, "A"), _new(cli, "B")
    desk.agents.create("carol")
    desk.acl.grant("rw", group="users", agent="carol")
    cli("--as", "carol", "ticket", "lock", b)
    before = dump(desk.url)
    assert "locked by carol" in cli("ticket", "merge", a, b, "--into", target, expect=5).stderr
    assert dump(desk.url) == before
    out = cli("ticket", "merge", a, b, "--into", target, "--continue-on-error", "-o", "json", expect=7).json
    assert [(o["tn"], o["ok"]) for o in out] == [(a, True), (b, False)]
    assert _show(cli, a)["state"] == "merged" and _show(cli, b)["state"] == "new"


def test_mail_to_a_merged_ticket_lands_on_the_target(cli: Cli) -> None:
    first = cli("mail", "ingest", "-", "-o", "json", input=_mail("printer on fire")).json
    second = cli("mail", "ingest", "-", "-o", "json", input=_mail("printer again", message_id="<m2@example.com>")).json
    final = _new(cli, "final")
    cli("ticket", "merge", first["ticket"], "--into", second["ticket"])
    cli("ticket", "merge", second["ticket"], "--into", final)  # a merge of a merge: the chain is followed
    reply = _mail(f"Re: [Ticket#{first['ticket']}] printer on fire", "it is out", "<m3@example.com>")
    result = cli("mail", "ingest", "-", "-o", "json", input=reply).json
    assert (result["action"], result["ticket"]) == ("follow_up", final)
    assert _show(cli, final)["articles"][-1]["body"].strip() == "it is out"
    # A reply found by its In-Reply-To follows the article, which moved with the merge.
    by_id = "From: alice@example.com\nTo: desk@example.com\nSubject: no tag\nIn-Reply-To: <m2@example.com>\n\nhi\n"
    assert cli("mail", "ingest", "-", "-o", "json", input=by_id).json["ticket"] == final


def test_mail_follow_up_through_the_installed_command(db_url: str, backend: str) -> None:
    """The same, through the `tktctl` executable in a subprocess (as an MTA runs it)."""
    exe = str(Path(sys.executable).with_name("tktctl"))

    def run(*args: str, data: str | None = None) -> str:
        done = subprocess.run([exe, "--db", db_url, *args], input=data, capture_output=True, text=True, check=True)
        return done.stdout.strip()

    gone, kept = run("ticket", "create", "--title", "gone", "-q"), run("ticket", "create", "--title", "kept", "-q")
    run("ticket", "merge", gone, "--into", kept)
    run("mail", "ingest", "-", data=_mail(f"[Ticket#{gone}] update", "via the MTA", "<x@example.com>"))
    assert "via the MTA" in run("ticket", "show", kept, "-o", "json")


def test_split_copies_one_article_with_its_attachment_bytes(cli: Cli, desk: Desk) -> None:
    mail = EmailMessage()
    mail["From"], mail["To"], mail["Subject"] = "alice@example.com", "desk@example.com", "two problems"
    mail.set_content("printer and coffee machine")
    payload = bytes(range(256)) * 3
    mail.add_attachment(payload, maintype="application", subtype="octet-stream", filename="dump.bin")
    origin = desk.mail.ingest(bytes(mail))["ticket"]
    desk.queues.create("Kitchen")
    (article,) = _show(cli, origin)["articles"]
    new = cli("ticket", "split", origin, "--article", str(article["id"]), "--queue", "Kitchen", "-o", "json").json
    assert (new["queue"], new["title"], new["customer"]) == ("Kitchen", "two problems", "alice@example.com")
    copied = _show(cli, new["tn"])
    (copy,) = copied["articles"]
    assert copy["body"] == article["body"] and copy["id"] != article["id"]
    (attachment,) = desk.mail.attachments(new["tn"])
    assert desk.mail.attachment(new["tn"], attachment["id"])[1] == payload
    assert copied["links"] == [{"tn": origin, "type": "parent-child", "relation": "parent"}]
    assert _show(cli, origin)["links"] == [{"tn": new["tn"], "type": "parent-child", "relation": "child"}]
    assert len(_show(cli, origin)["articles"]) == 1  # the origin keeps its article
    assert _history(cli, origin, "TicketLinkAdd") and _history(cli, new["tn"], "NewTicket")
    titled = cli("ticket", "split", origin, "--article", str(article["id"]), "--title", "coffee", "-o", "json").json
    assert titled["title"] == "coffee" and titled["queue"] == "Raw"
    before = dump(desk.url)
    cli("ticket", "split", origin, "--article", str(article["id"]), "--dry-run")
    assert "not found" in cli("ticket", "split", origin, "--article", "999999", expect=3).stderr
    assert dump(desk.url) == before


def test_links_survive_export_import_and_db_copy(
    cli: Cli, desk: Desk, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, backend: str, request: pytest.FixtureRequest
) -> None:
    a, b, c, d = _new(cli, "A"), _new(cli, "B"), _new(cli, "C"), _new(cli, "D")
    cli("ticket", "link", a, b)
    cli("ticket", "link", c, a, "--type", "parent-child")
    cli("ticket", "merge", d, "--into", a)

    def relations(run: Cli) -> dict[str, Any]:
        return {tn: (_show(run, tn)["links"], _show(run, tn)["merged_into"]) for tn in (a, b, c, d)}

    expected = relations(cli)
    exported = cli("ticket", "export", "-o", "jsonl").stdout
    other_url = f"sqlite:///{tmp_path / 'other.db'}"
    other = Cli(other_url, monkeypatch)
    other("init", "-q")
    # Reversed, in batches of one: each link is made when the second of its two tickets arrives.
    lines = exported.splitlines()[::-1]
    other("ticket", "import", "-", "--format", "jsonl", "--batch-size", "1", input="\n".join(lines) + "\n")
    assert relations(other) == expected
    assert len(dump(other_url)["ticket_link"]) == 3
    # db copy: from a server into SQLite, and from SQLite into an empty server database.
    copy_url = f"sqlite:///{tmp_path / 'copy.db'}"
    report = cli("db", "copy", "--to", copy_url, "-o", "json").json
    assert {r["table"]: r["rows"] for r in report}["ticket_link"] == 3
    assert relations(Cli(copy_url, monkeypatch)) == expected
    if backend != "sqlite":
        empty_url = request.getfixturevalue("empty_db_url")
        Cli(copy_url, monkeypatch)("db", "copy", "--to", empty_url, "-q")
        assert relations(Cli(empty_url, monkeypatch)) == expected


def test_a_follow_up_to_a_closed_ticket_in_a_new_ticket_queue_is_linked(cli: Cli, desk: Desk) -> None:
    desk.queues.update("Raw", follow_up="new_ticket")
    first = cli("mail", "ingest", "-", "-o", "json", input=_mail("broken")).json["ticket"]
    cli("ticket", "close", first)
    late = cli("mail", "ingest", "-", "-o", "json", input=_mail(f"Re: [Ticket#{first}] broken", "again", "<l@x>")).json
    assert late["action"] == "new_ticket"
    assert cli("ticket", "links", late["ticket"], "-q").stdout.split() == [first]


JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=20),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=10), inner, max_size=3),
    max_leaves=8,
)
LINKISH = st.fixed_dictionaries(
    {"tn": st.text(max_size=60) | JSON},
    optional={
        "type": st.sampled_from(["normal", "parent-child", "sibling", ""]) | JSON,
        "relation": st.sampled_from(["normal", "parent", "child", "up"]) | JSON,
    },
)


@given(value=JSON | LINKISH)
def test_an_imported_link_is_a_checked_triple_or_a_usage_error(value: Any) -> None:
    """The `links` items of an import record: a (tn, type, relation) that fits, or exit 2, never a crash."""
    from tktctl.errors import UsageError
    from tktctl.tickets.importcheck import _link

    try:
        tn, kind, relation = _link(value)
    except UsageError:
        return
    assert isinstance(tn, str) and 0 < len(tn) <= 50
    assert (kind, relation) in {("normal", "normal"), ("parent-child", "parent"), ("parent-child", "child")}
