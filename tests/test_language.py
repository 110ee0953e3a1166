"""Languages (issue 13): tags, choosing a translation, a ticket's language, and where languages are set."""

from __future__ import annotations

import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from tests.conftest import Cli, dump
from tests.test_mail import message
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
