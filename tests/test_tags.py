"""The tag engine (mail/tags.py): OTRS's tags and their TKTCTL_ forms over plain mappings."""

from __future__ import annotations

import re

from hypothesis import given
from hypothesis import strategies as st

from tktctl.mail import tags

SCOPES = {
    "TICKET": tags.ticket_tags(
        {"tn": "2026120410000019", "title": "Printer", "queue": "Tier 1", "priority_name": "3 normal", "fields": {}}
    ),
    "CUSTOMER": {
        "From": "alice@example.com",
        "Realname": "Alice Smith",
        "Subject": "My printer is on fire again",
        "Body": "line one\n\nline three\nline four",
    },
    "OWNER": tags.agent_tags("bob", "Bob Ruiz", "bob@example.com"),
    "CURRENT": tags.agent_tags("carol", "Carol", None),
    "CONFIG": {"FQDN": "example.com", "DatabasePw": "hunter2"},
}


def test_otrs_tags_and_their_tktctl_forms() -> None:
    for prefix in ("OTRS", "TKTCTL"):
        text = (
            f"<{prefix}_TICKET_TicketNumber> <{prefix}_TICKET_Queue> <{prefix}_TICKET_Priority> "
            f"<{prefix}_TICKET_tn> <{prefix}_OWNER_UserFirstname> <{prefix}_OWNER_UserLastname> "
            f"<{prefix}_OWNER_UserEmail> <{prefix}_CUSTOMER_REALNAME> <{prefix}_CUSTOMER_EMAIL> "
            f"<{prefix}_CUSTOMER_From> <{prefix}_CONFIG_FQDN>"
        )
        assert tags.render(text, SCOPES) == (
            "2026120410000019 Tier 1 3 normal 2026120410000019 Bob Ruiz bob@example.com Alice Smith "
            "alice@example.com alice@example.com example.com"
        )


def test_subject_cut_and_body_quoted() -> None:
    assert tags.render("Re: <OTRS_CUSTOMER_SUBJECT[10]>", SCOPES) == "Re: My printer[...]"
    assert tags.render("<OTRS_CUSTOMER_SUBJECT[100]>", SCOPES) == "My printer is on fire again"
    assert tags.render("<OTRS_CUSTOMER_BODY[2]>", SCOPES) == "> line one\n>"
    assert tags.render("<OTRS_CUSTOMER_EMAIL[1]>", SCOPES) == "> line one"
    assert tags.render("<OTRS_CUSTOMER_BODY>", SCOPES).count("\n") == 3


def test_unknown_empty_and_secret_tags_print_a_dash() -> None:
    text = "<OTRS_CONFIG_DatabasePw> <OTRS_NOPE_X> <OTRS_TICKET_Nope> <OTRS_CURRENT_UserEmail> <OTRS_X> <TKTCTL_>"
    assert tags.render(text, SCOPES) == "- - - - - -"


def test_values_are_never_expanded_again() -> None:
    scopes = {"TICKET": {"Title": "<OTRS_CONFIG_FQDN> $title"}, "CONFIG": {"FQDN": "example.com"}}
    assert tags.render("<OTRS_TICKET_Title>", scopes, {"title": "x"}) == "<OTRS_CONFIG_FQDN> $title"
    assert tags.render("$title and $$ and $nope", {}, {"title": "<OTRS_CONFIG_FQDN>"}) == (
        "<OTRS_CONFIG_FQDN> and $ and $nope"
    )


NAME = st.sampled_from(["TICKET", "CUSTOMER", "OWNER", "RESPONSIBLE", "CURRENT", "CONFIG", "FOO", "AGENT"])
TAG = st.builds(
    lambda prefix, scope, name, size: f"<{prefix}_{scope}_{name}{size}>",
    st.sampled_from(["OTRS", "TKTCTL"]),
    NAME,
    st.from_regex(r"[A-Za-z0-9_:]{1,12}", fullmatch=True),
    st.sampled_from(["", "[0]", "[3]", "[999999]"]),
)
TEMPLATE = st.lists(st.one_of(st.text(max_size=20), TAG, st.sampled_from(["<", ">", "<OTRS_", "$", "${", "[", "]"])))


@given(TEMPLATE.map("".join), st.dictionaries(st.text(max_size=5), st.text(max_size=5), max_size=3))
def test_never_raises(template: str, placeholders: dict[str, str]) -> None:
    assert isinstance(tags.render(template, SCOPES, placeholders), str)


@given(TAG)
def test_a_tag_without_a_value_is_a_dash(tag: str) -> None:
    assert tags.render(tag, {}) == "-"


@given(st.text().filter(lambda t: not re.search(r"<(?:OTRS|TKTCTL)_", t)))
def test_text_without_tags_is_unchanged(text: str) -> None:
    assert tags.render(text, SCOPES) == text
