"""PostMaster parity: filters, the X-OTRS header set, follow-up detection, bounces, bodies, raw articles.

Real messages from tests/data/mail (and the shared corpus when it is there), on every backend.
"""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import TKTCTL_EXE, Cli, dump
from tests.mailservers import SmtpSink
from tests.test_mail import CORPUS, message, setup_responses, smtp  # noqa: F401  (smtp: a fixture)
from tktctl.api import Desk
from tktctl.errors import ConflictError

DATA = Path(__file__).parent / "data" / "mail"


def eml(name: str, **values: str) -> bytes:
    raw = (DATA / name).read_bytes()
    for key, value in values.items():
        raw = raw.replace(b"{" + key.encode() + b"}", value.encode())
    return raw


def history(desk: Desk, tn: str) -> list[tuple[str, dict[str, Any]]]:
    return [(h["type"], h["data"]) for h in desk.tickets.history(tn)]


def spam_filter(desk: Desk, **extra: Any) -> dict[str, Any]:
    return desk.mail.filters.create(
        "010-spam",
        match=[("X-Spam-Flag", "^yes")],
        set={"X-OTRS-Queue": "Junk", "X-OTRS-Priority": "1 very low"},
        **extra,
    )


# Filters --------------------------------------------------------------------------------------


def test_filter_create_conflicts_or_returns_the_existing_one(desk: Desk) -> None:
    """A name taken is a conflict (exit 5); with if_not_exists the stored filter comes back unchanged."""
    created = spam_filter(desk)
    with pytest.raises(ConflictError, match="mail filter '010-spam' already exists"):
        spam_filter(desk, stop=True)
    assert spam_filter(desk, stop=True, if_not_exists=True) == created
    assert desk.mail.filters.list() == [created]


def test_filter_routes_untrusted_mail_and_ingest_says_which_fired(desk: Desk) -> None:
    spam_filter(desk)
    desk.mail.filters.create("020-vip", match=[("From", r"@acme\.example>?$")], set={"X-OTRS-Priority": "5"})
    spam = desk.mail.ingest(eml("spam-flagged.eml"), untrusted=True)
    assert spam["filters"] == ["010-spam"]
    shown = desk.tickets.show(spam["ticket"])
    assert (shown["queue"], shown["priority"]) == ("Junk", 1)
    vip = desk.mail.ingest(eml("vip-order.eml"), untrusted=True)
    assert vip["filters"] == ["020-vip"] and desk.tickets.show(vip["ticket"])["priority"] == 5
    plain = desk.mail.ingest(message(body="nothing special"))
    assert plain["filters"] == [] and desk.tickets.show(plain["ticket"])["queue"] == "Raw"


def test_filters_run_in_name_order_and_stop_ends_the_chain(desk: Desk) -> None:
    desk.mail.filters.create("b-later", match=[("Subject", "cruise")], set={"X-OTRS-Queue": "Misc"})
    desk.mail.filters.create("a-first", match=[("Subject", "cruise")], set={"X-OTRS-Queue": "Junk"})
    result = desk.mail.ingest(eml("spam-flagged.eml"))
    assert result["filters"] == ["a-first", "b-later"]  # both fired, the later one wins
    assert desk.tickets.show(result["ticket"])["queue"] == "Misc"
    desk.mail.filters.update("a-first", stop=True)
    again = desk.mail.ingest(eml("spam-flagged.eml").replace(b"48213", b"48214"))
    assert again["filters"] == ["a-first"] and desk.tickets.show(again["ticket"])["queue"] == "Junk"


def test_not_match_absent_headers_captures_and_disable(desk: Desk) -> None:
    # Every condition must hold; a negated one holds when its regex does not match.
    desk.mail.filters.create(
        "order",
        match=[("Subject", r"Order (\d+)")],
        not_match=[("From", r"@bulk\.example")],
        set={"X-OTRS-Title": "Order [***] (customer mail)"},
    )
    # A condition on a header the message lacks never holds, negated or not (as in OTRS).
    desk.mail.filters.create(
        "no-header", match=[("Subject", ".")], not_match=[("X-Absent", "x")], set={"X-OTRS-Priority": "5"}
    )
    result = desk.mail.ingest(eml("vip-order.eml"))
    assert result["filters"] == ["order"]
    shown = desk.tickets.show(result["ticket"])
    assert (shown["title"], shown["priority"]) == ("Order 7781 (customer mail)", 3)
    desk.types.create("Calle Mayor 1")  # a type must exist to be set (an unknown one is ignored)
    desk.mail.filters.create(
        "named", match=[("Body", r"address \((?<street>[^)]+)\)")], set={"X-OTRS-Type": "[** \\street **]"}
    )
    typed = desk.mail.ingest(eml("vip-order.eml").replace(b"7781", b"7782"))
    assert desk.tickets.show(typed["ticket"])["type"] == "Calle Mayor 1"
    desk.mail.filters.disable("named")
    desk.mail.filters.disable("order")
    later = desk.mail.ingest(eml("vip-order.eml").replace(b"7781", b"7783"))
    assert later["filters"] == [] and desk.tickets.show(later["ticket"])["title"].startswith("Order 7783: invoice")
    assert desk.mail.filters.update("order", valid=True)["valid"] is True


def test_untrusted_x_otrs_headers_are_invisible_to_filters_but_filters_set_them(desk: Desk) -> None:
    desk.mail.filters.create("q", match=[("X-OTRS-Queue", "Misc")], set={"X-OTRS-Priority": "5"})
    raw = message(X_OTRS_Queue="Misc")
    untrusted = desk.mail.ingest(raw, untrusted=True)
    assert untrusted["filters"] == [] and desk.tickets.show(untrusted["ticket"])["queue"] == "Raw"
    trusted = desk.mail.ingest(message(body="trusted", X_Tktctl_Queue="Misc"))
    assert trusted["filters"] == ["q"]
    assert (desk.tickets.show(trusted["ticket"])["queue"], desk.tickets.show(trusted["ticket"])["priority"]) == (
        "Misc",
        5,
    )


def test_filter_can_ignore_or_silence_and_passes_custom_fields_on(desk: Desk) -> None:
    setup_responses(desk)
    desk.mail.filters.create("ignore", match=[("X-Spam-Flag", "yes")], set={"X-OTRS-Ignore": "yes"})
    desk.mail.filters.create(
        "loop", match=[("From", "acme")], set={"X-OTRS-Loop": "yes", "X-OTRS-DynamicField-Order": "7781"}
    )
    ignored = desk.mail.ingest(eml("spam-flagged.eml"), untrusted=True)
    assert (ignored["action"], ignored["ticket"], ignored["filters"]) == ("ignored", None, ["ignore"])
    quiet = desk.mail.ingest(eml("vip-order.eml"))
    assert quiet["action"] == "new_ticket" and "X-OTRS-Loop" in quiet["auto_response"]
    assert desk.mail.outbox() == []


def test_filter_cli_apply_dump_audit_and_desk_dump(desk: Desk, cli: Cli, tmp_path: Path, db_url: str) -> None:
    made = cli(
        "mail",
        "filter",
        "create",
        "010-spam",
        "--match",
        "X-Spam-Flag=^yes",
        "--not-match",
        "From=@example\\.com$",
        "--set",
        "X-OTRS-Queue=Junk",
        "--set",
        "X-Tktctl-Priority=1",
        "--stop",
        "-o",
        "json",
    ).json
    assert made["match"] == [
        {"header": "X-Spam-Flag", "value": "^yes", "not": False},
        {"header": "From", "value": "@example\\.com$", "not": True},
    ]
    assert (made["set"], made["stop"], made["valid"]) == (
        {"X-OTRS-Queue": "Junk", "X-Tktctl-Priority": "1"},
        True,
        True,
    )
    assert cli("mail", "filter", "create", "010-spam", "--match", "a=b", "--set", "X-OTRS-Queue=x", expect=5)
    assert cli("mail", "filter", "create", "bad", "--match", "Subject=(", "--set", "X-OTRS-Queue=x", expect=2)
    assert "cannot set" in cli("mail", "filter", "create", "bad", "--match", "a=b", "--set", "From=x", expect=2).stderr
    assert cli("mail", "filter", "show", "nope", expect=3)
    dumped = cli("mail", "filter", "dump").stdout
    assert yaml.safe_load(dumped) == [{k: v for k, v in made.items() if k not in ("id", "created", "changed")}]
    # What dump wrote applies back with nothing to do; a change shows as a diff in a dry run.
    (tmp_path / "f.yaml").write_text(dumped)
    assert cli("mail", "filter", "apply", "-f", str(tmp_path / "f.yaml"), "--dry-run", "-o", "json").json == []
    changed = yaml.safe_load(dumped)
    changed[0]["stop"] = False
    changed.append({"name": "020-vip", "match": [{"header": "From", "value": "acme"}], "set": {"X-OTRS-Priority": 5}})
    (tmp_path / "f.yaml").write_text(yaml.safe_dump(changed))
    before = dump(db_url)
    diff = cli("mail", "filter", "apply", "-f", str(tmp_path / "f.yaml"), "--dry-run", "-o", "json").json
    assert [(d["name"], d["action"]) for d in diff] == [("010-spam", "update"), ("020-vip", "create")]
    assert dump(db_url) == before
    applied = cli("mail", "filter", "apply", "-f", str(tmp_path / "f.yaml"), "-o", "json").json
    assert [(f["name"], f["stop"], f["set"]) for f in applied] == [
        ("010-spam", False, {"X-OTRS-Queue": "Junk", "X-Tktctl-Priority": "1"}),
        ("020-vip", False, {"X-OTRS-Priority": "5"}),
    ]
    # Znuny's Admin::PostMasterFilter::Export format applies as it is.
    znuny = [
        {
            "Name": "030-znuny",
            "StopAfterMatch": 1,
            "Match": [{"Key": "Subject", "Value": "(?<n>\\d+)"}],
            "Not": [{"Key": "Subject", "Value": ""}],
            "Set": [{"Key": "X-OTRS-Title", "Value": "#[** \\n **]"}],
        }
    ]
    (tmp_path / "z.yaml").write_text(yaml.safe_dump(znuny))
    (imported,) = cli("mail", "filter", "apply", "-f", str(tmp_path / "z.yaml"), "-o", "json").json
    assert (imported["stop"], imported["match"][0]["not"], imported["set"]) == (
        True,
        False,
        {"X-OTRS-Title": "#[** \\n **]"},
    )
    result = desk.mail.ingest(message(subject="Order 4711", body="z"))
    assert "030-znuny" in result["filters"] and desk.tickets.show(result["ticket"])["title"] == "#4711"
    assert cli("mail", "filter", "disable", "020-vip", "-o", "json").json["valid"] is False
    assert cli("mail", "filter", "delete", "030-znuny", "-o", "json").json["name"] == "030-znuny"
    assert [f["name"] for f in cli("mail", "filter", "list", "-o", "json").json] == ["010-spam", "020-vip"]
    audit = [(a["action"], a["name"]) for a in desk.audit.list(objects=["mail_filter"])]
    assert audit == [
        ("create", "010-spam"),
        ("update", "010-spam"),
        ("create", "020-vip"),
        ("create", "030-znuny"),
        ("update", "020-vip"),
        ("delete", "030-znuny"),
    ]
    # The desk's document carries them; desk apply --prune deletes what it leaves out.
    document = desk.config.dump()
    assert [f["name"] for f in document["mail_filters"]] == ["010-spam", "020-vip"]
    desk.config.apply({"mail_filters": document["mail_filters"][:1]}, prune=True)
    assert [f["name"] for f in desk.mail.filters.list()] == ["010-spam"]


def test_filters_need_admin(desk: Desk, cli: Cli) -> None:
    desk.agents.create("bob")
    desk.acl.grant("rw", group="users", agent="bob")
    for args in (["list"], ["create", "x", "--match", "a=b", "--set", "X-OTRS-Queue=Junk"], ["dump"]):
        assert "admin" in cli("--as", "bob", "mail", "filter", *args, expect=4).stderr
    assert desk.mail.filters.list() == []


# The X-OTRS header set -----------------------------------------------------------------------


def test_new_ticket_headers_title_type_owner_responsible_pending_state(desk: Desk) -> None:
    desk.agents.create("bob")
    desk.types.create("Incident")
    desk.agents.create("carol")
    raw = message(
        X_OTRS_Title="Printer 3 on fire",
        X_OTRS_Type="Incident",
        X_OTRS_Owner="bob",
        X_Tktctl_Responsible="carol",
        X_OTRS_State="pending reminder",
        X_OTRS_State_PendingTime="+2d",
        X_OTRS_Priority="4 high",
        X_OTRS_Queue="Misc",
    )
    result = desk.mail.ingest(raw)
    ticket = desk.tickets.show(result["ticket"])
    assert {k: ticket[k] for k in ("title", "type", "owner", "responsible", "state", "priority", "queue")} == {
        "title": "Printer 3 on fire",
        "type": "Incident",
        "owner": "bob",
        "responsible": "carol",
        "state": "pending reminder",
        "priority": 4,
        "queue": "Misc",
    }
    assert 47 * 3600 < (ticket["pending_until"] - ticket["created"]).total_seconds() <= 48 * 3600
    # Unknown values are ignored (as OTRS); a pending state without a time is too.
    other = desk.mail.ingest(
        message(body="2", X_OTRS_Owner="nobody", X_OTRS_State="pending reminder", X_OTRS_Type="No such type")
    )
    shown = desk.tickets.show(other["ticket"])
    assert (shown["owner"], shown["state"], shown["type"]) == ("root@localhost", "new", None)
    absolute = desk.mail.ingest(
        message(body="3", X_OTRS_State="pending auto close+", X_OTRS_State_PendingTime="2027-01-05 10:00:00")
    )
    assert desk.tickets.show(absolute["ticket"])["pending_until"].isoformat().startswith("2027-01-05")
    # Untrusted: none of it.
    untrusted = desk.tickets.show(desk.mail.ingest(raw.replace(b"fire.", b"fire!"), untrusted=True)["ticket"])
    assert (untrusted["title"], untrusted["type"], untrusted["responsible"]) == ("Printer on fire", None, None)


def test_follow_up_headers_move_retitle_retype_assign_and_set_state(desk: Desk) -> None:
    desk.agents.create("bob")
    desk.types.create("Problem")
    tn = desk.mail.ingest(message())["ticket"]
    raw = message(
        subject=f"Re: [Ticket#{tn}] Printer on fire",
        body="more",
        X_OTRS_FollowUp_Queue="Misc",
        X_OTRS_FollowUp_Title="Printer replaced",
        X_OTRS_FollowUp_Type="Problem",
        X_OTRS_FollowUp_Owner="bob",
        X_Tktctl_FollowUp_Responsible="bob",
        X_OTRS_FollowUp_State="pending reminder",
        X_OTRS_FollowUp_State_PendingTime="+3h",
        X_OTRS_Title="not for follow-ups",
    )
    assert desk.mail.ingest(raw)["action"] == "follow_up"
    ticket = desk.tickets.show(tn)
    assert {k: ticket[k] for k in ("queue", "title", "type", "owner", "responsible", "state")} == {
        "queue": "Misc",
        "title": "Printer replaced",
        "type": "Problem",
        "owner": "bob",
        "responsible": "bob",
        "state": "pending reminder",
    }
    types = [t for t, _ in history(desk, tn)]
    for kind in (
        "Move",
        "TitleUpdate",
        "TypeUpdate",
        "OwnerUpdate",
        "ResponsibleUpdate",
        "StateUpdate",
        "SetPendingTime",
    ):
        assert kind in types, kind
    assert dict(history(desk, tn))["Move"] == {"from": "Raw", "to": "Misc"}


def test_follow_up_state_keep_leaves_a_closed_ticket_closed(desk: Desk) -> None:
    tn = desk.mail.ingest(message())["ticket"]
    desk.tickets.close([tn])
    kept = desk.mail.ingest(message(subject=f"[Ticket#{tn}]", body="thanks!", X_OTRS_FollowUp_State_Keep="yes"))
    assert kept["action"] == "follow_up" and desk.tickets.show(tn)["state"] == "closed successful"
    desk.mail.ingest(message(subject=f"[Ticket#{tn}]", body="again"))
    assert desk.tickets.show(tn)["state"] == "open"


def test_follow_up_header_changes_are_checked_like_the_verbs(desk: Desk, db_url: str) -> None:
    desk.agents.create("postmaster")
    desk.acl.grant("ro,create,note", group="users", agent="postmaster")
    tn = desk.mail.ingest(message())["ticket"]
    before = dump(db_url)
    mail = Desk(db_url, actor="postmaster")
    result = mail.mail.ingest(message(subject=f"[Ticket#{tn}]", body="x", X_OTRS_FollowUp_Title="hijack"))
    assert result["action"] == "failed" and "'rw'" in result["reason"]
    assert desk.tickets.show(tn)["title"] == "Printer on fire"
    before.pop("mail_failed")
    assert {k: v for k, v in dump(db_url).items() if k != "mail_failed"} == before


@pytest.mark.parametrize(
    "headers",
    [{"X_No_Loop": "yes"}, {"X_OTRS_Loop": "true"}, {"X_Tktctl_Loop": "yes"}, {"Mailing_List": "list x@y"}],
)
def test_loop_headers_mean_no_auto_response(desk: Desk, headers: dict[str, str]) -> None:
    setup_responses(desk)
    result = desk.mail.ingest(message(**headers))
    assert result["action"] == "new_ticket" and result["auto_response"].startswith("no auto-response")
    assert desk.mail.outbox() == []


# Follow-up detection --------------------------------------------------------------------------


def test_subject_forms_of_the_ticket_number(desk: Desk) -> None:
    tn = desk.mail.ingest(message())["ticket"]
    for n, subject in enumerate([f"[Ticket#{tn}] a", f"Re: Ticket#: {tn}", f"AW: Ticket#:{tn} b", f"Ticket#{tn}"]):
        result = desk.mail.ingest(message(subject=subject, body=f"form {n}"))
        assert (result["action"], result["ticket"]) == ("follow_up", tn), subject
    # A longer number is not this ticket's.
    assert desk.mail.ingest(message(subject=f"Ticket#{tn}7", body="longer"))["action"] == "new_ticket"


def test_configured_hook_and_divider(db_url: str, cli: Cli, smtp: SmtpSink) -> None:  # noqa: F811
    desk = Desk(db_url, mail={"hook": "Call#", "hook_divider": "-"})
    setup_responses(desk)
    tn = desk.mail.ingest(message())["ticket"]
    for subject in (f"[Call#-{tn}]", f"Re: Call#: {tn}"):
        assert desk.mail.ingest(message(subject=subject, body=subject))["ticket"] == tn
    assert desk.mail.ingest(message(subject=f"[Ticket#{tn}]", body="old hook"))["action"] == "new_ticket"
    desk.mail.send()
    assert smtp.received[0].message["Subject"].startswith(f"[Call#-{tn}] auto-reply")
    assert cli("mail", "ingest", "-", input=message(), expect=0)


@pytest.mark.parametrize(
    ("follow_up", "action", "state", "linked"),
    [
        ("possible", "follow_up", "open", False),
        ("reject", "follow_up_rejected", "removed", False),
        ("new_ticket", "new_ticket", "removed", True),
    ],
)
def test_follow_up_to_a_removed_ticket_is_as_to_a_closed_one(
    desk: Desk, follow_up: str, action: str, state: str, linked: bool
) -> None:
    desk.queues.update("Raw", follow_up=follow_up)
    tn = desk.mail.ingest(message())["ticket"]
    desk.tickets.set_state([tn], to="removed")
    raw = message(subject=f"Re: [Ticket#{tn}] Printer on fire", body="hello?", X_OTRS_Priority="5")
    result = desk.mail.ingest(raw)
    assert result["action"] == action
    assert desk.tickets.show(tn)["state"] == state
    if linked:
        new = desk.tickets.show(result["ticket"])
        assert new["tn"] != tn and (new["title"], new["priority"]) == ("Re: Printer on fire", 5)
        assert ("TicketLinkAdd", {"to": tn, "reason": "follow-up"}) in history(desk, new["tn"])
    else:
        assert result["ticket"] == tn


def test_delivery_report_for_our_answer_is_a_bounce_of_that_ticket(desk: Desk, smtp: SmtpSink) -> None:  # noqa: F811
    tn = desk.mail.ingest(message(sender="alice@gone.example"))["ticket"]
    answer = desk.mail.reply(tn, body="We replaced the printer.")
    desk.tickets.close([tn])
    report = eml("dsn-postfix.eml", tn=tn, message_id=answer["message_id"])
    result = desk.mail.ingest(report)
    assert (result["action"], result["ticket"]) == ("bounce", tn)
    assert "5.1.1" in result["reason"]
    ticket = desk.tickets.show(tn)
    assert ticket["state"] == "open"  # the customer never got the answer
    article = ticket["articles"][-1]
    assert (article["sender"], article["visible_to_customer"], article["subject"]) == (
        "system",
        False,
        "Undelivered Mail Returned to Sender",
    )
    followups = [d for t, d in history(desk, tn) if t == "FollowUp"]
    assert followups[-1]["bounce"] is True and followups[-1]["original_message_id"] == answer["message_id"]
    assert (followups[-1]["recipient"], followups[-1]["status"], followups[-1]["action"]) == (
        "alice@gone.example",
        "5.1.1",
        "failed",
    )
    assert [m for m in desk.mail.outbox() if m["kind"].startswith("auto")] == []
    # A report about a message the desk did not send is an ordinary new message.
    other = desk.mail.ingest(eml("dsn-postfix.eml", tn="1", message_id="<not-ours@example.com>"))
    assert other["action"] == "new_ticket"


def test_corpus_delivery_reports_name_the_returned_message(desk: Desk) -> None:
    if not (CORPUS / "index.csv").exists():
        pytest.skip(f"mail corpus not found at {CORPUS}")
    from tktctl.mail.parse import Limits, parse

    found = {}
    for path in ("flanker/zed.eml", "mikel-mail/report_530.eml", "flanker/mailbox-full.eml"):
        inbound = parse((CORPUS / path).read_bytes(), Limits())
        found[path] = (inbound.bounce_of, inbound.bounce.get("status"))
    assert found["flanker/zed.eml"] == ("<20090708054735.GC7578@example.com>", "5.1.1")
    assert all(mid and status for mid, status in found.values()), found
    # A real Postfix report naming a message the desk sent is that ticket's bounce.
    tn = desk.mail.ingest(message())["ticket"]
    answer = desk.mail.reply(tn, body="done")
    raw = (
        (CORPUS / "flanker/zed.eml")
        .read_bytes()
        .replace(b"<20090708054735.GC7578@example.com>", answer["message_id"].encode())
    )
    assert (desk.mail.ingest(raw)["action"], desk.tickets.show(tn)["articles"][-1]["sender"]) == ("bounce", "system")


# Bodies and addresses --------------------------------------------------------------------------


def test_text_parts_of_a_mixed_message_are_joined_as_the_body(desk: Desk) -> None:
    tn = desk.mail.ingest(eml("two-text-parts.eml"))["ticket"]
    (article,) = desk.tickets.show(tn)["articles"]
    assert article["body"] == (
        "The sync job stops every night at 02:00, see below.\n\n"
        "2026-12-03 02:00:01 sync: connection reset by peer\n"
        "2026-12-03 02:00:02 sync: giving up \u2014 retry in 24h\n\n"
        "Is this a known problem?\nJonas"
    )
    assert [a["filename"] for a in article["attachments"]] == ["sync.conf"]


def test_forwarded_message_is_one_attachment(desk: Desk) -> None:
    tn = desk.mail.ingest(eml("forwarded.eml"))["ticket"]
    (article,) = desk.tickets.show(tn)["articles"]
    assert article["body"] == "See the notice below."
    (attachment,) = article["attachments"]
    assert (attachment["filename"], attachment["content_type"]) == ("file-1.eml", "message/rfc822")
    _, content = desk.mail.attachment(tn, attachment["id"])
    assert b"The network will be down on Sunday." in content


def test_encoded_words_split_inside_a_character_decode_whole(desk: Desk) -> None:
    result = desk.mail.ingest(eml("split-encoded-words.eml"))
    ticket = desk.tickets.show(result["ticket"])
    (article,) = ticket["articles"]
    assert article["from"] == "Евгений Васильев <e.vasiliev@example.ru>"
    assert article["to"] == "Наталья Ковалёва <support@example.com>"
    assert article["cc"] == "Евгений Васильев <boss@example.ru>, plain@example.ru"
    assert ticket["title"] == article["subject"] == "Счёт за ноябрь"
    assert ticket["customer"] == "e.vasiliev@example.ru"


@pytest.mark.parametrize("raw", [b"", b"\r\n\r\n", b"   \n"])
def test_empty_input_is_refused_with_exit_2_and_stores_nothing(cli: Cli, db_url: str, raw: bytes) -> None:
    before = dump(db_url)
    result = cli("mail", "ingest", "-", "-o", "json", input=raw, expect=2)
    assert result.stdout == "" and result.error["code"] == "usage" and "empty" in result.error["message"]
    assert dump(db_url) == before


def test_empty_file_in_a_batch_is_refused_and_the_rest_stored(cli: Cli, tmp_path: Path) -> None:
    folder = tmp_path / "new"
    folder.mkdir()
    (folder / "1.eml").write_bytes(message())
    (folder / "2.eml").write_bytes(b"")
    results = cli("mail", "ingest", "--batch", str(folder), "-o", "json").json
    assert [r["action"] for r in results] == ["new_ticket", "refused"]


# Articles out ------------------------------------------------------------------------------------


def test_article_record_and_raw_message_byte_for_byte(desk: Desk, cli: Cli, db_url: str) -> None:
    raw = eml("split-encoded-words.eml").replace(b"\n", b"\r\n")
    tn = desk.mail.ingest(raw)["ticket"]
    reply = message(
        subject=f"Re: [Ticket#{tn}]",
        body="b",
        Message_ID="<r2@example.ru>",
        In_Reply_To="<split-words-1@example.ru>",
        References="<x@y> <split-words-1@example.ru>",
    )
    desk.mail.ingest(reply)
    first, second = desk.tickets.show(tn)["articles"]
    shown = cli("ticket", "article", tn, str(second["id"]), "-o", "json").json
    assert {k: shown[k] for k in ("cc", "message_id", "in_reply_to", "references")} == {
        "cc": None,
        "message_id": "<r2@example.ru>",
        "in_reply_to": "<split-words-1@example.ru>",
        "references": "<x@y> <split-words-1@example.ru>",
    }
    out = subprocess.run(
        [TKTCTL_EXE, "--db", db_url, "ticket", "article", tn, str(first["id"]), "--raw"],
        capture_output=True,
        check=True,
    )
    assert out.stdout == raw
    assert cli("ticket", "article", tn, "999", expect=3)
    note = desk.tickets.note(tn, body="internal")
    note_id = desk.tickets.show(tn)["articles"][-1]["id"]
    assert note["tn"] == tn
    assert "no stored message" in cli("ticket", "article", tn, str(note_id), "--raw", expect=3).stderr
    desk.agents.create("eve")
    assert cli("--as", "eve", "ticket", "article", tn, str(first["id"]), expect=3)
    exported = json.loads(cli("ticket", "export", "-o", "jsonl").stdout.splitlines()[0])
    assert exported["articles"][1]["message_id"] == "<r2@example.ru>"


# Parsers, by property ----------------------------------------------------------------------------


NUMBERS = st.builds(lambda day, counter: f"202612{day:02d}10{counter:05d}3", st.integers(1, 28), st.integers(0, 99999))
TEXT = st.text(alphabet=st.characters(blacklist_categories=("Cs",), blacklist_characters="0123456789"), max_size=20)


@given(NUMBERS, st.sampled_from(["[Ticket#{}]", "Ticket#{}", "Ticket#: {}", "Ticket#:{}", "ticket#  {}"]), TEXT, TEXT)
def test_hook_finds_the_number_in_any_form_and_surrounding(tn: str, form: str, before: str, after: str) -> None:
    from tktctl.mail.followups import hook_pattern

    subject = before + form.format(tn) + after
    found = [a or b for a, b in hook_pattern("DateChecksum", "10").findall(subject)]
    if form == "ticket#  {}":  # OTRS: at most two spaces after the colon form only
        assert found == []
    else:
        assert found == [tn]


@given(st.sampled_from(["+", "-", ""]), st.integers(1, 10**6), st.sampled_from(["s", "m", "h", "d", "", "S"]))
def test_otrs_relative_pending_time(sign: str, number: int, unit_name: str) -> None:
    from datetime import UTC, datetime, timedelta

    from tktctl.mail.xheaders import pending_time

    class Clock:
        now = datetime(2026, 12, 4, tzinfo=UTC)

    seconds = number * {"s": 1, "m": 60, "h": 3600, "d": 86400, "": 1}[unit_name.lower()]
    try:
        expected: datetime | None = Clock.now + timedelta(seconds=-seconds if sign == "-" else seconds)
    except OverflowError:  # a header past the calendar is ignored, never an error (regression: it raised)
        expected = None
    assert pending_time(Clock(), f" {sign} {number} {unit_name} ") == expected  # type: ignore[arg-type]


def test_a_relative_pending_time_past_the_calendar_is_ignored() -> None:
    from datetime import UTC, datetime

    from tktctl.mail.xheaders import pending_time

    class Clock:
        now = datetime(2026, 12, 4, tzinfo=UTC)

    assert pending_time(Clock(), "-999999 d") is None  # type: ignore[arg-type]
    assert pending_time(Clock(), "+9999999 d") is None  # type: ignore[arg-type]


@given(st.dictionaries(st.sampled_from(["subject", "from", "x-spam-flag", "body"]), st.text(max_size=40)))
def test_filters_never_fail_on_any_message(params: dict[str, str]) -> None:
    from types import SimpleNamespace

    from tktctl.mail import filters

    rows = [
        SimpleNamespace(
            name="a",
            stop=False,
            conditions=[{"header": "Subject", "value": "(?<w>\\w+)"}],
            sets={"X-OTRS-Title": "[** \\w **]/[***]"},
        ),
        SimpleNamespace(
            name="b",
            stop=True,
            conditions=[{"header": "From", "value": "x", "not": True}],
            sets={"X-Tktctl-Queue": "Junk"},
        ),
    ]
    before = dict(params)
    fired = filters.run(filters.compiled(rows), params)  # type: ignore[arg-type]
    assert fired == [r.name for r in rows if r.name in fired]
    if "a" in fired:
        word = re.search(r"\w+", before["subject"]).group(0)
        assert params["x-otrs-title"] == f"{word}/{word}"
    assert ("b" in fired) == ("from" in before and "x" not in before["from"].lower())
    assert ("x-otrs-queue" in params) == ("b" in fired)


@pytest.mark.parametrize("by", ["subject", "references"])
def test_follow_up_to_a_merged_ticket_goes_to_the_ticket_it_was_merged_into(desk: Desk, by: str) -> None:
    """Merges of merges are followed (as OTRS's TicketCheckNumber), by the subject's number or by the
    Message-ID a reply refers to."""
    first = desk.mail.ingest(message())
    middle = desk.tickets.create(title="middle", queue="Raw")["tn"]
    last = desk.tickets.create(title="last", queue="Raw")["tn"]
    sent_id = desk.mail.reply(first["ticket"], body="On it.")["message_id"] if by == "references" else "<none@x>"
    desk.merges.merge([first["ticket"]], into=middle)
    desk.merges.merge([middle], into=last)
    tn = first["ticket"] if by == "subject" else "0"
    result = desk.mail.ingest(eml("outlook-reply-to-merged.eml", tn=tn, in_reply_to=sent_id))
    assert (result["action"], result["ticket"]) == ("follow_up", last)
    article = desk.tickets.show(last)["articles"][-1]
    assert (article["from"], article["body"].splitlines()[0]) == (
        "Maria Lopez <maria@example.net>",
        "Sigue sin funcionar despu\u00e9s del reinicio.",
    )
    assert desk.tickets.show(first["ticket"])["state"] == "merged"
