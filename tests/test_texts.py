"""Outgoing texts (issue 13): system addresses, salutations, signatures and answer templates per
language, through the command line on every backend; replies and automatic mail over real SMTP."""

from __future__ import annotations

import pytest

from tests.conftest import Cli, dump
from tests.mailservers import SmtpSink
from tests.test_e2e import Run, run  # noqa: F401  (the installed executable, direct and served)
from tests.test_mail import message, setup_responses, smtp  # noqa: F401  (the SMTP server fixture)
from tktctl.api import Desk


def provision(cli: Cli) -> None:
    """Queue Raw sends from support@example.com with salutation, signature and an answer template."""
    cli("address", "create", "support@example.com", "--name", "Example Support")
    cli("queue", "update", "Raw", "--address", "support@example.com")
    cli("salutation", "create", "formal", "--body", "Dear <OTRS_CUSTOMER_REALNAME>,")
    cli("salutation", "create", "formal", "--language", "de", "--body", "Hallo <OTRS_CUSTOMER_REALNAME>,")
    cli("signature", "create", "team", "--body", "-- \n<OTRS_CURRENT_UserFirstname> for <OTRS_TICKET_Queue>")
    cli(
        "template",
        "create",
        "thanks",
        "--subject",
        "Re: <OTRS_CUSTOMER_SUBJECT[10]>",
        "--body",
        "Thanks for <OTRS_TICKET_TicketNumber>, owner <OTRS_OWNER_UserLogin>.\n<OTRS_CUSTOMER_BODY[1]>",
        "--queue",
        "Raw",
    )
    cli("template", "create", "thanks", "--language", "de", "--body", "Danke <OTRS_NOPE_X>.")
    cli("queue", "update", "Raw", "--salutation", "formal", "--signature", "team")


def test_crud_of_every_noun(cli: Cli) -> None:
    provision(cli)
    address = cli("address", "show", "support@example.com", "-o", "json").json
    assert (address["realname"], address["valid"]) == ("Example Support", True)
    assert cli("address", "update", "support@example.com", "--clear-name", "-o", "json").json["realname"] is None
    assert cli("address", "disable", "support@example.com", "-o", "json").json["valid"] is False
    assert cli("address", "enable", "support@example.com", "-o", "json").json["valid"] is True
    assert [a["email"] for a in cli("address", "list", "-o", "json").json] == ["support@example.com"]
    queue = cli("queue", "show", "Raw", "-o", "json").json
    assert (queue["address"], queue["salutation"], queue["signature"]) == ("support@example.com", "formal", "team")

    for noun in ("salutation", "signature"):
        name = "formal" if noun == "salutation" else "team"
        changed = cli(noun, "update", name, "--body", "New", "--comment", "c", "-o", "json").json
        assert (changed["body"], changed["comment"], changed["language"]) == ("New", "c", "en")
        assert cli(noun, "disable", name, "-o", "json").json["valid"] is False
        assert cli(noun, "enable", name, "-o", "json").json["valid"] is True
    assert [(s["name"], s["language"]) for s in cli("salutation", "list", "-o", "json").json] == [
        ("formal", "de"),
        ("formal", "en"),
    ]
    assert cli("salutation", "show", "formal", "--language", "DE", "-o", "json").json["body"].startswith("Hallo")

    template = cli("template", "show", "thanks", "-o", "json").json
    assert (template["kind"], template["queues"], template["language"]) == ("answer", ["Raw"], "en")
    cli("queue", "create", "Tier 2")
    moved = cli("template", "update", "thanks", "--queue", "Tier 2", "--no-queue", "Raw", "-o", "json").json
    assert moved["queues"] == ["Tier 2"]
    retitled = cli("template", "update", "thanks", "--subject", "Re: x", "-o", "json").json
    assert (retitled["subject"], retitled["queues"], retitled["kind"]) == ("Re: x", ["Tier 2"], "answer")
    memo = ("template", "create", "memo", "--body", "m", "--kind", "note", "--subject", "S", "--queue", "Raw")
    created = cli(*memo, "--queue", "Tier 2", "-o", "json").json
    assert (created["kind"], created["subject"], created["queues"]) == ("note", "S", ["Raw", "Tier 2"])
    assert [t["language"] for t in cli("template", "list", "--language", "de", "-o", "json").json] == ["de"]
    cli("template", "delete", "thanks")
    cli("template", "show", "thanks", expect=3)
    assert cli("template", "show", "thanks", "--language", "de", "-o", "json").json["queues"] == ["Tier 2"]
    cli("template", "delete", "thanks", "--language", "de")  # the last variant: no queue offers it any more
    assert cli("template", "create", "thanks", "--body", "b", "-o", "json").json["queues"] == []
    cli("queue", "update", "Raw", "--clear", "address", "--clear", "salutation")
    queue = cli("queue", "show", "Raw", "-o", "json").json
    assert (queue["address"], queue["salutation"], queue["signature"]) == (None, None, "team")


@pytest.mark.parametrize(
    "argv",
    [
        ("address", "create", "not-an-address"),
        ("address", "create", "x@example.com\r\nBcc: y@example.com"),
        ("salutation", "create", "x", "--body", "b", "--language", "klingon!"),
        ("salutation", "create", "x"),
        ("signature", "create", " x", "--body", "b"),
        ("template", "create", "x", "--body", "b", "--kind", "bogus"),
        ("template", "create", "x", "--body", "b", "--subject", "a\nb"),
        ("ticket", "reply", "{tn}", "--template", "thanks", "--subject", "x\x00"),
        ("ticket", "reply", "{tn}"),
        ("ticket", "reply", "{tn}", "--template", "note"),  # a note template does not answer
        ("ticket", "reply", "{other}", "--template", "thanks"),  # not offered by Tier 2
    ],
)
def test_bad_input_exits_2_and_changes_nothing(cli: Cli, desk: Desk, db_url: str, argv: tuple[str, ...]) -> None:
    provision(cli)
    cli("template", "create", "note", "--kind", "note", "--body", "n")
    tn = desk.mail.ingest(message())["ticket"]
    cli("queue", "create", "Tier 2")
    other = desk.tickets.create(queue="Tier 2", title="x", customer="bob@example.com")["tn"]
    before = dump(db_url)
    cli(*(a.format(tn=tn, other=other) for a in argv), expect=2)
    assert dump(db_url) == before


def test_unknown_names_exit_3(cli: Cli, desk: Desk) -> None:
    provision(cli)
    tn = desk.mail.ingest(message())["ticket"]
    cli("queue", "update", "Raw", "--address", "nobody@example.com", expect=3)
    cli("queue", "update", "Raw", "--salutation", "nope", expect=3)
    cli("ticket", "reply", tn, "--template", "nope", expect=3)
    cli("address", "create", "support@example.com", expect=5)
    cli("template", "create", "thanks", "--body", "x", expect=5)


def test_reply_with_template_over_smtp(cli: Cli, desk: Desk, smtp: SmtpSink) -> None:  # noqa: F811
    provision(cli)
    tn = desk.mail.ingest(message(subject="Printer on fire again", body="It burns.\nReally."))["ticket"]
    cli("ticket", "reply", tn, "--template", "thanks", "--body", "We are on it.")
    cli("mail", "send")
    (sent,) = smtp.received
    assert sent.message["From"] == "Example Support <support@example.com>"
    assert sent.mail_from == "support@example.com" and sent.rcpt_tos == ["alice@example.com"]
    assert sent.message["Subject"] == f"[Ticket#{tn}] Re: Printer on[...]"
    assert sent.message.get_content().replace("\r\n", "\n") == (
        f"Dear Alice,\n\nThanks for {tn}, owner root@localhost.\n> It burns.\n\nWe are on it.\n\n-- \nAdmin for Raw\n"
    )
    # A German customer gets the German variants; a tag without a value prints '-'.
    cli("customer", "create", "hans@example.de", "--language", "de")
    de = desk.tickets.create(queue="Raw", title="Drucker", customer="hans@example.de")["tn"]
    body = cli("ticket", "reply", de, "--template", "thanks", "-o", "json").json["body"]
    assert body == "Hallo hans@example.de,\n\nDanke -.\n\n-- \nAdmin for Raw\n"
    # A disabled system address: the queue's mail is from the profile's address again.
    cli("address", "disable", "support@example.com")
    answer = cli("ticket", "reply", tn, "--body", "plain", "-o", "json").json
    assert answer["from"] != "Example Support <support@example.com>" and answer["body"].strip() == "plain"


def test_auto_responses_and_notifications_come_from_the_queue_address(
    cli: Cli,
    desk: Desk,
    smtp: SmtpSink,  # noqa: F811
) -> None:
    setup_responses(desk)
    cli("address", "create", "support@example.com", "--name", "Example Support")
    cli("queue", "update", "Raw", "--address", "support@example.com")
    body = "Hello <OTRS_CUSTOMER_REALNAME>, <OTRS_TICKET_TicketNumber> is $tn in <TKTCTL_TICKET_Queue>."
    cli("autoresponse", "update", "auto-reply", "--body", body, "--subject", "<OTRS_CUSTOMER_SUBJECT[7]> <OTRS_X>")
    tn = desk.mail.ingest(message(sender="carol@example.org"))["ticket"]
    # No auto-response to one of our own system addresses (a loop).
    assert desk.mail.ingest(message(sender="support@example.com"))["auto_response"].startswith("no auto-response")
    cli("mail", "send")
    (auto,) = smtp.received
    assert auto.message["From"] == "Example Support <support@example.com>" and auto.mail_from == "<>"
    assert auto.message["X-Loop"] == "support@example.com"
    assert auto.message["Subject"] == f"[Ticket#{tn}] Printer[...] -"
    assert auto.message.get_content().strip() == f"Hello Alice, {tn} is {tn} in Raw."
    desk.agents.create("bob", email="bob@example.com")
    desk.acl.grant("ro", group="users", agent="bob")
    desk.agents.subscribe("bob", ["Raw"])
    smtp.received.clear()
    desk.mail.ingest(message(sender="dan@example.org", subject="Another"))
    cli("mail", "send")
    told = [r.message for r in smtp.received if r.rcpt_tos == ["bob@example.com"]]
    assert told and all(m["From"] == "Example Support <support@example.com>" for m in told)


@pytest.mark.e2e
def test_installed_tktctl_replies_with_a_template(run: Run) -> None:  # noqa: F811
    """Through the installed executable, directly and through the warm server."""
    run("init")
    run("address", "create", "support@example.com", "--name", "Example Support")
    run("salutation", "create", "formal", "--body", "Dear <TKTCTL_CUSTOMER_REALNAME>,")
    run("queue", "update", "Raw", "--address", "support@example.com", "--salutation", "formal")
    run("template", "create", "thanks", "--body", "-", "--queue", "Raw", input="Ticket <TKTCTL_TICKET_TicketNumber>.")
    tn = run("ticket", "create", "--title", "Printer", "--customer", "alice@example.com", "-q").stdout.strip()
    answer = run.json("ticket", "reply", tn, "--template", "thanks")
    assert answer["from"] == "Example Support <support@example.com>"
    assert answer["body"] == f"Dear alice@example.com,\n\nTicket {tn}.\n"
    run("ticket", "reply", tn, "--template", "nope", expect=3)


def test_one_variant_is_disabled_enabled_and_needs_a_name_in_a_document(cli: Cli, db_url: str) -> None:
    """Texts are named objects keyed by name and language: disable/enable touch one variant, audited by
    its label; a desk document's text without a name is a usage error that changes nothing."""
    cli("salutation", "create", "formal", "--body", "Dear")
    cli("salutation", "create", "formal", "--language", "de", "--body", "Hallo")
    assert cli("salutation", "disable", "formal", "--language", "DE", "-o", "json").json["valid"] is False
    listed = cli("salutation", "list", "-o", "json").json
    assert [(s["language"], s["valid"]) for s in listed] == [("de", False), ("en", True)]
    assert cli("salutation", "enable", "formal", "--language", "de", "-o", "json").json["valid"] is True
    missing = cli("salutation", "disable", "formal", "--language", "fr", expect=3)
    assert missing.stderr == "tktctl: error: salutation 'formal' (fr) not found\n"
    audited = [(e["action"], e["name"]) for e in cli("audit", "list", "--object", "salutation", "-o", "json").json]
    assert audited[-2:] == [("disable", "formal (de)"), ("enable", "formal (de)")]
    before = dump(db_url)
    refused = cli("desk", "apply", "-f", "-", input="signatures:\n- body: x\n", expect=2)
    assert refused.stderr == "tktctl: error: every signature record needs a name\n"
    assert dump(db_url) == before


def test_ensure_and_prune_go_by_name_and_language(desk: Desk) -> None:
    """The inherited named-object steps key a text by (name, language): ensure brings one variant
    (a new one needs a body: a usage error, no half row), and prune reads only the variants to disable."""
    from sqlalchemy import event

    from tktctl.db.models import Salutation
    from tktctl.errors import UsageError

    texts = desk.salutations
    for language in ("en", "de", "fr"):
        texts.create("formal", body=f"Dear ({language})", language=language)
    with desk.write() as unit:
        changes = texts.ensure(unit, {"name": "formal", "language": "de", "comment": "German"})
        assert [(c["action"], c["name"]) for c in changes] == [("update", "formal (de)")]
        with pytest.raises(UsageError, match=r"^salutation formal \(pt-BR\): a new one needs a body$"):
            texts.ensure(unit, {"name": "formal", "language": "pt-br"})
    assert [(t["language"], t["comment"]) for t in texts.list()] == [("de", "German"), ("en", None), ("fr", None)]
    loaded: list[str] = []

    def on_load(row: Salutation, _context: object) -> None:
        loaded.append(row.language)

    event.listen(Salutation, "load", on_load)
    try:
        with desk.write() as unit:
            texts.prune(unit, {"formal (en)", "formal (de)"})
    finally:
        event.remove(Salutation, "load", on_load)
    assert loaded == ["fr"]
    assert [(t["language"], t["valid"]) for t in texts.list()] == [("de", True), ("en", True), ("fr", False)]
    assert texts.list(language="FR")[0]["valid"] is False
