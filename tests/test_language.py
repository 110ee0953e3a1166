"""Languages (issue 13): tags, choosing a translation, a ticket's language, and where languages are set."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import Cli, dump
from tests.mailservers import SmtpSink
from tests.test_mail import message, smtp  # noqa: F401  (the SMTP server fixture)
from tktctl.api import Desk
from tktctl.core.language import choose, header_language, language_tag, ticket_language
from tktctl.errors import UsageError

NORMAL = re.compile(r"[a-z]{2,3}(-([A-Z]{2}|[0-9]{3}))?")


@pytest.mark.parametrize(
    ("given_", "tag"),
    [("es", "es"), ("DE", "de"), ("pt-br", "pt-BR"), ("pt_BR", "pt-BR"), (" en-gb ", "en-GB"), ("es-419", "es-419")],
)
def test_language_tags_are_normalised(given_: str, tag: str) -> None:
    assert language_tag(given_) == tag


@pytest.mark.parametrize("bad", ["", "e", "english", "xx-invalid!", "de-DE-x", "1a", "es-4190", "d\u00e9"])
def test_not_a_language_tag_is_a_usage_error(bad: str) -> None:
    with pytest.raises(UsageError, match="not a language tag"):
        language_tag(bad)


@given(st.text(max_size=12))
def test_a_tag_is_normal_and_normalising_twice_changes_nothing(text: str) -> None:
    try:
        tag = language_tag(text)
    except UsageError:
        return
    assert NORMAL.fullmatch(tag) and language_tag(tag) == tag


@given(st.text(max_size=40))
def test_a_content_language_header_never_fails(text: str) -> None:
    found = header_language(text)
    assert found is None or NORMAL.fullmatch(found)


@pytest.mark.parametrize(
    ("header", "tag"),
    [("de-DE, en", "de-DE"), ("es", "es"), ("zh-Hant-TW", "zh"), ("en-US-x-foo", "en-US"), ("??", None), ("", None)],
)
def test_content_language_header_gives_its_first_tag(header: str, tag: str | None) -> None:
    assert header_language(header) == tag


@pytest.mark.parametrize(
    ("language", "default", "chosen"),
    [
        ("es", "en", "es"),  # exact
        ("pt-BR", "en", "pt"),  # the language without its region
        ("de", "en", "de-AT"),  # a regional variant of the language
        ("fr", "en", "en"),  # the desk's default
        ("fr", "it", "es"),  # the first there is
        ("PT-br", "en", "pt"),  # any case
    ],
)
def test_choose_a_translation(language: str, default: str, chosen: str) -> None:
    texts = {"es": "es", "pt": "pt", "de-AT": "de-AT", "en": "en"}
    if chosen == "es":
        texts = {"es": "es", "de-AT": "de-AT"} if language == "fr" else texts
    assert choose(texts, language, default) == chosen


@given(
    st.dictionaries(st.sampled_from(["en", "es", "de", "pt", "pt-BR", "es-419"]), st.integers(), min_size=1),
    st.sampled_from(["en", "es", "de", "pt-BR", "fr", "es-MX"]),
    st.sampled_from(["en", "de", "fr"]),
)
def test_choose_returns_one_of_the_texts_and_the_exact_one_when_there(
    texts: dict[str, int], language: str, default: str
) -> None:
    chosen = choose(texts, language, default)
    assert chosen in texts.values()
    if language in texts:
        assert chosen == texts[language]


def _ticket_id(desk: Desk, tn: str) -> int:
    return int(desk.tickets.show(tn)["id"])


def _language(desk: Desk, tn: str) -> str:
    with desk.read() as unit:
        return ticket_language(unit.session, _ticket_id(desk, tn))


def test_a_tickets_language_customer_then_message_then_queue_then_desk(desk: Desk) -> None:
    assert desk.config.dump()["settings"] == [{"name": "default_language", "value": "en"}]
    desk.config.apply({"settings": [{"name": "default_language", "value": "FR"}]})
    desk.queues.create("Soporte", language="es")
    desk.customers.create("carla@example.com", language="es")
    desk.customers.create("dora", email="dora@example.com", language="pt_br")

    known = desk.mail.ingest(message(sender="carla@example.com", Content_Language="de"))["ticket"]
    assert _language(desk, known) == "es"  # the customer's own language wins over the message's
    by_email = desk.tickets.create(title="x", queue="Soporte", customer="dora@example.com")["tn"]
    assert _language(desk, by_email) == "pt-BR"  # a customer found by email
    written = desk.mail.ingest(message(sender="unknown@example.com", Content_Language="de-DE, en"))["ticket"]
    assert _language(desk, written) == "de-DE"
    queue = desk.tickets.create(title="x", queue="Soporte", customer="nobody@example.com")["tn"]
    assert _language(desk, queue) == "es"
    default = desk.mail.ingest(message(sender="other@example.com", Content_Language="no such tag!"))["ticket"]
    assert _language(desk, default) == "fr"
    article = desk.tickets.show(written)["articles"][0]["id"]
    split = desk.merges.split(written, article=article, queue="Soporte")["tn"]
    assert _language(desk, split) == "de-DE"  # the split article keeps the message's language


def test_customer_and_queue_language_on_the_command_line(cli: Cli, db_url: str) -> None:
    made = cli("customer", "create", "ana@example.com", "--language", "ES", "-o", "json").json
    assert made["language"] == "es"
    assert cli("customer", "update", "ana@example.com", "--language", "pt-br", "-o", "json").json["language"] == "pt-BR"
    before = dump(db_url)
    failed = cli("customer", "update", "ana@example.com", "--language", "xx-invalid!", "-o", "json", expect=2)
    assert failed.error["code"] == "usage" and "not a language tag" in failed.error["message"]
    cli("customer", "create", "bea@example.com", "--language", "nope!", expect=2)
    assert dump(db_url) == before
    assert cli("customer", "show", "ana@example.com", "-o", "json").json["language"] == "pt-BR"

    assert cli("queue", "create", "Soporte", "--language", "es", "-o", "json").json["language"] == "es"
    assert cli("queue", "update", "Soporte", "--language", "es-mx", "-o", "json").json["language"] == "es-MX"
    cli("queue", "update", "Soporte", "--language", "spanish", expect=2)
    assert cli("queue", "update", "Soporte", "--clear", "language", "-o", "json").json["language"] is None


def test_desk_default_language_in_the_desk_document(cli: Cli, db_url: str, tmp_path: pytest.TempPathFactory) -> None:
    document = tmp_path / "desk.yaml"  # type: ignore[operator]
    document.write_text("settings:\n- name: default_language\n  value: de\n")
    changes = cli("desk", "apply", "-f", str(document), "-o", "json").json
    change = {"kind": "setting", "name": "default_language", "action": "update"}
    assert changes == [{**change, "changes": {"value": {"from": "en", "to": "de"}}}]
    assert "value: de" in cli("desk", "dump").stdout
    before = dump(db_url)
    for bad in ("value: german!", "value: 7", "nope: 1"):
        document.write_text(f"settings:\n- name: default_language\n  {bad}\n")
        cli("desk", "apply", "-f", str(document), expect=2)
    document.write_text("settings:\n- name: colour\n  value: red\n")
    cli("desk", "apply", "-f", str(document), expect=2)
    assert dump(db_url) == before
    document.write_text("settings: []\n")
    cli("desk", "apply", "-f", str(document), "--prune")
    assert "value: en" in cli("desk", "dump").stdout


def test_choose_takes_the_first_preference_that_has_a_text() -> None:
    texts = {"en": "en", "es": "es", "de": "de"}
    assert choose(texts, ["fr", "pt-BR", "es", "de"], "en") == "es"
    assert choose(texts, ["fr", "it"], "de") == "de"
    assert choose(texts, [], "en") == "en"


REPLY = "default reply (after new ticket has been created)"


def _sent(cli: Cli, smtp: SmtpSink) -> dict[str, tuple[str, str]]:  # noqa: F811
    """What `mail send` delivered: recipient -> (subject, body)."""
    cli("mail", "send")
    got = {
        r.rcpt_tos[0]: (str(r.message["Subject"]), r.message.get_content().replace("\r\n", "\n")) for r in smtp.received
    }
    smtp.received.clear()
    return got


def test_auto_response_in_the_tickets_language_over_real_smtp(desk: Desk, cli: Cli, smtp: SmtpSink) -> None:  # noqa: F811
    cli("queue", "update", "Raw", "--auto-response", REPLY)
    cli("customer", "create", "carla@example.com", "--language", "es")

    carla = desk.mail.ingest(message(sender="carla@example.com", Message_ID="<c1@example.com>"))["ticket"]
    german = desk.mail.ingest(message(sender="hans@example.com", Content_Language="de-AT"))["ticket"]
    french = desk.mail.ingest(message(sender="marie@example.com", Content_Language="fr"))["ticket"]
    got = _sent(cli, smtp)
    assert got["carla@example.com"][0] == f"[Ticket#{carla}] RE: Printer on fire"
    assert got["carla@example.com"][1].startswith(
        f"Gracias por su correo.\n\nSu solicitud se ha registrado como ticket {carla}."
    )
    assert got["hans@example.com"][0] == f"[Ticket#{german}] AW: Printer on fire"  # de-AT: the German text
    assert got["hans@example.com"][1].startswith("Vielen Dank für Ihre E-Mail.")
    assert got["marie@example.com"][1].startswith("Thank you for your email.")  # no French: the desk's default
    assert f"ticket {french}." in got["marie@example.com"][1]

    # No text in the message's language: the queue's language, then the desk's default.
    cli("queue", "update", "Raw", "--language", "es")
    desk.mail.ingest(message(sender="pierre@example.com", Content_Language="fr"))
    desk.config.apply({"settings": [{"name": "default_language", "value": "de"}]})
    cli("queue", "update", "Raw", "--clear", "language")
    desk.mail.ingest(message(sender="luc@example.com", Content_Language="fr"))
    got = _sent(cli, smtp)
    assert got["pierre@example.com"][1].startswith("Gracias por su correo.")
    assert got["luc@example.com"][1].startswith("Vielen Dank für Ihre E-Mail.")


def test_auto_response_translations_on_the_command_line(cli: Cli, db_url: str) -> None:
    made = cli(
        "autoresponse",
        "create",
        "thanks",
        "--type",
        "auto-reply",
        "--subject",
        "Thanks",
        "--body",
        "Thanks!",
        "--language",
        "EN",
        "-o",
        "json",
    ).json
    assert (made["language"], made["translations"]) == ("en", {})
    cli("autoresponse", "update", "thanks", "--language", "es", "--subject", "Gracias", "--body", "¡Gracias!")
    cli("autoresponse", "update", "thanks", "--language", "es", "--body", "¡Muchas gracias!")
    cli("autoresponse", "update", "thanks", "--language", "en", "--body", "Thank you!")  # its own text
    shown = cli("autoresponse", "show", "thanks", "-o", "json").json
    assert (shown["body"], shown["translations"]) == (
        "Thank you!",
        {"es": {"subject": "Gracias", "body": "¡Muchas gracias!"}},
    )
    before = dump(db_url)
    cli("autoresponse", "update", "thanks", "--language", "de", "--body", "Danke", expect=2)  # a new one needs both
    cli("autoresponse", "update", "thanks", "--language", "xx-invalid!", "--body", "x", expect=2)
    cli("autoresponse", "update", "thanks", "--language", "de", "--remove", expect=3)
    cli("autoresponse", "update", "thanks", "--language", "es", expect=2)  # nothing to change
    assert dump(db_url) == before
    cli("autoresponse", "update", "thanks", "--language", "es", "--remove")
    assert cli("autoresponse", "show", "thanks", "-o", "json").json["translations"] == {}

    # What `list -o yaml` prints applies back, translations included.
    document = cli("autoresponse", "list", "-o", "yaml").stdout
    assert "Abgewiesen: $subject" in document  # the shipped defaults' German
    before = dump(db_url)
    cli("autoresponse", "apply", "-f", "-", input=document)
    assert dump(db_url) == before
    bad = "- name: thanks\n  translations: {es: {subject: x}}\n"
    cli("autoresponse", "apply", "-f", "-", input=bad, expect=2)


def test_notifications_in_the_agents_and_the_customers_language(
    desk: Desk,
    cli: Cli,
    smtp: SmtpSink,  # noqa: F811
) -> None:
    for login, language in (("bob", "es"), ("dave", None)):
        desk.agents.create(login, email=f"{login}@example.com", language=language)
        desk.acl.grant("ro", group="users", agent=login)
        desk.agents.subscribe(login, ["Raw"])
    assert cli("agent", "update", "dave", "--language", "DE", "-o", "json").json["language"] == "de"
    cli("agent", "update", "dave", "--language", "nope!", expect=2)
    desk.customers.create("eve@example.com", language="de")
    rule = {
        "name": "customer-moves",
        "events": ["Move"],
        "recipients": ["customer"],
        "subject": "Moved: $title",
        "body": "Your ticket moved to $queue.",
        "language": "en",
        "translations": {"DE": {"subject": "Verschoben: $title", "body": "Ihr Ticket ist jetzt in $queue."}},
    }
    assert desk.notifications.apply([rule]) == [{"action": "created", "name": "customer-moves"}]
    dumped = {r["name"]: r for r in desk.notifications.dump()}
    assert dumped["customer-moves"]["translations"] == {
        "de": {"subject": "Verschoben: $title", "body": "Ihr Ticket ist jetzt in $queue."}
    }
    assert dumped["new-ticket"]["translations"]["es"]["subject"] == "Nuevo ticket: $title"

    tn = desk.tickets.create(title="Printer", queue="Raw", customer="eve@example.com")["tn"]
    desk.tickets.move([tn], to="Misc")
    got = _sent(cli, smtp)
    assert got["bob@example.com"][0] == f"[Ticket#{tn}] Nuevo ticket: Printer"
    assert got["dave@example.com"][0] == f"[Ticket#{tn}] Neues Ticket: Printer"
    assert got["eve@example.com"] == (f"[Ticket#{tn}] Verschoben: Printer", "Ihr Ticket ist jetzt in Misc.\n")
    bad = {**rule, "translations": {"klingon!": {"subject": "x", "body": "y"}}}
    with pytest.raises(UsageError, match="not a language tag"):
        desk.notifications.apply([bad])
