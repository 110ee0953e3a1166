"""Full-text search (issue 12): the query language, each database's engine against a LIKE scan,
the index following every write, and `ticket search` / `--text` from the command line."""

from __future__ import annotations

import string

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import text

from tests.conftest import Cli
from tktctl.api import Desk, TicketFilter
from tktctl.core.textquery import And, Node, Not, Or, Term, parse, render
from tktctl.errors import TktctlError, UsageError

# The query language -------------------------------------------------------------------

WORD = st.text(alphabet=string.ascii_lowercase + string.digits + "éß", min_size=1, max_size=6)
TERM = st.builds(Term, st.lists(WORD, min_size=1, max_size=3).map(tuple))


def _trees(leaf: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
    """Valid trees only: NOT is a part of an AND that has another part (the parser's rule)."""

    def extend(children: st.SearchStrategy[Node]) -> st.SearchStrategy[Node]:
        parts = st.lists(children, min_size=2, max_size=3).map(tuple)
        negated = st.tuples(children, st.lists(children.map(Not), min_size=1, max_size=2))
        return st.builds(Or, parts) | st.builds(And, parts) | negated.map(lambda t: And((t[0], *t[1])))

    return st.recursive(leaf, extend, max_leaves=8)


@given(_trees(TERM))
def test_render_then_parse_is_the_same_tree(tree: Node) -> None:
    assert parse(render(tree)) == tree


@given(st.text(max_size=60))
def test_any_text_parses_or_is_a_usage_error(query: str) -> None:
    try:
        node = parse(query)
    except UsageError as error:
        failure: UsageError | None = error
    else:
        failure = None
        assert parse(render(node)) == node
    assert failure is None or (failure.exit_code == 2 and failure.message)


@pytest.mark.parametrize(
    ("query", "tree"),
    [
        ("printer toner", And((Term(("printer",)), Term(("toner",))))),
        ("printer AND toner", And((Term(("printer",)), Term(("toner",))))),
        ('"Paper  Jam" OR fire', Or((Term(("paper", "jam")), Term(("fire",))))),
        ("a NOT b", And((Term(("a",)), Not(Term(("b",)))))),
        ("alice@example.com", Term(("alice", "example", "com"))),
        ("x and y", And((Term(("x",)), Term(("and",)), Term(("y",))))),
        ("(a OR b) c", And((Or((Term(("a",)), Term(("b",)))), Term(("c",))))),
    ],
)
def test_parse(query: str, tree: Node) -> None:
    assert parse(query) == tree


@pytest.mark.parametrize(
    ("query", "message"),
    [
        ("", "empty search query"),
        ("NOT toner", "NOT only excludes"),
        ("a OR NOT b", "NOT only excludes"),
        ('"open', "no closing quote"),
        ("(a b", "no closing ')'"),
        ("a b)", "unexpected ')'"),
        ("a AND", "ends where a word was expected"),
        ("a AND OR b", "OR where a word was expected"),
        ("!!", "no letters or digits"),
    ],
)
def test_bad_queries_are_usage_errors(query: str, message: str) -> None:
    with pytest.raises(UsageError) as error:
        parse(query)
    assert message in error.value.message


# The engines against a LIKE scan -------------------------------------------------------

# Words of a few letters from a small alphabet (many collisions; no stemming: PostgreSQL uses the
# 'simple' configuration), separated by single spaces so that " word " is a word boundary for LIKE.
CORPUS_WORD = st.text(alphabet="abcde", min_size=1, max_size=4)
CORPUS_TEXT = st.lists(CORPUS_WORD, min_size=1, max_size=8).map(" ".join)


def _like_scan(desk: Desk, word: str) -> set[str]:
    """Tickets whose title or an article's subject, body or from has ``word``, by a padded LIKE."""
    padded = "' ' || lower({}) || ' '" if desk.engine.dialect.name != "mysql" else "concat(' ', lower({}), ' ')"
    articles = " OR ".join(f"{padded.format(c)} LIKE :pattern" for c in ("a.subject", "a.body", "a.a_from"))
    statement = text(
        f"SELECT t.tn FROM ticket t WHERE {padded.format('t.title')} LIKE :pattern "
        f"OR EXISTS (SELECT 1 FROM article a WHERE a.ticket_id = t.id AND ({articles}))"
    )
    with desk.engine.connect() as conn:
        return {r[0] for r in conn.execute(statement, {"pattern": f"% {word} %"})}


def _found(desk: Desk, query: str) -> set[str]:
    return {t["tn"] for t in desk.search.tickets(query, limit=100_000)}


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(titles=st.lists(CORPUS_TEXT, min_size=1, max_size=3), bodies=st.lists(CORPUS_TEXT, max_size=3), word=CORPUS_WORD)
def test_search_finds_what_a_like_scan_finds(desk: Desk, titles: list[str], bodies: list[str], word: str) -> None:
    """Results ⊆ the LIKE scan for any word, and equal for words of 3 letters or more (MariaDB's
    default innodb_ft_min_token_size is 3: shorter words are refused there)."""
    for title in titles:
        tn = desk.tickets.create(title=title, body=bodies[0] if bodies else None, subject=title)["tn"]
        for body in bodies[1:]:
            desk.tickets.note(tn, body=body, subject="note")
    expected = _like_scan(desk, word)
    if desk.engine.dialect.name == "mysql" and len(word) < 3:
        with pytest.raises(UsageError, match="too short"):
            _found(desk, word)
        return
    found = _found(desk, word)
    assert found <= expected
    if len(word) >= 3:
        assert found == expected
        assert {t["tn"] for t in desk.tickets.list(TicketFilter(text=word))} == expected
        assert desk.tickets.count(TicketFilter(text=word)) == len(expected)


CORPUS = {
    "printer": ("Printer on fire", "the toner cartridge is empty"),
    "jam": ("Paper jam", "paper jam in tray two; call alice@example.com"),
    "disk": ("Disk full", "the backup disk is full, printer fine"),
    "stop": ("About the network", "this was from where the cable goes"),
}


@pytest.fixture
def corpus(desk: Desk) -> dict[str, str]:
    return {key: desk.tickets.create(title=t, body=b)["tn"] for key, (t, b) in CORPUS.items()}


@pytest.mark.parametrize(
    ("query", "fields", "keys"),
    [
        ("printer", None, {"printer", "disk"}),
        ("PRINTER toner", None, {"printer"}),
        ("printer AND toner", None, {"printer"}),
        ("printer OR jam", None, {"printer", "jam", "disk"}),
        ("printer NOT toner", "body", {"disk"}),
        ('"paper jam"', None, {"jam"}),
        ('"jam paper"', None, set()),
        ("alice@example.com", None, {"jam"}),
        ("(toner OR backup) NOT fine", "body", {"printer"}),
        ("printer", "title", {"printer"}),
        ("printer", "subject,from", {"printer"}),  # the subject defaults to the title
        ("toner", "subject,from", set()),
        ("the cable", "body", {"stop"}),  # no stop words on any engine
        ("about", "title", {"stop"}),
    ],
)
def test_query_language_on_every_engine(
    desk: Desk, corpus: dict[str, str], query: str, fields: str | None, keys: set[str]
) -> None:
    assert _found_in(desk, query, fields) == {corpus[k] for k in keys}


def _found_in(desk: Desk, query: str, fields: str | None) -> set[str]:
    return {t["tn"] for t in desk.search.tickets(query, fields=fields)}


def test_results_are_ranked_and_limited(desk: Desk, corpus: dict[str, str]) -> None:
    strong = desk.tickets.create(title="printer printer", body="printer printer printer toner")["tn"]
    hits = desk.search.tickets("printer", limit=2)
    assert len(hits) == 2 and hits[0]["tn"] == strong
    assert hits[0]["score"] >= hits[1]["score"] > 0
    assert set(hits[0]) >= {"tn", "title", "queue", "state", "score"}


def test_filters_narrow_a_search(desk: Desk, corpus: dict[str, str]) -> None:
    desk.queues.create("Hardware")
    desk.tickets.move([corpus["disk"]], "Hardware")
    assert _found_tns(desk.search.tickets("printer", TicketFilter(queue="Hardware"))) == {corpus["disk"]}
    assert _found_tns(desk.search.tickets("printer", TicketFilter(text="toner"))) == {corpus["printer"]}


def _found_tns(records: list[dict[str, object]]) -> set[object]:
    return {r["tn"] for r in records}


def test_the_index_follows_every_article_write(desk: Desk) -> None:
    """Notes, replies, mail, and UPDATEs and DELETEs by any code path (a ticket delete, a merge):
    the index is kept by the database in the same transaction."""
    tn = desk.tickets.create(title="Quiet ticket", body="nothing here", customer="carol@example.com")["tn"]
    desk.tickets.note(tn, body="zebrafish spotted")
    assert _found(desk, "zebrafish") == {tn}
    desk.mail.reply(tn, body="about the quokka", to="carol@example.com")
    assert _found(desk, "quokka") == {tn}
    mailed = desk.mail.ingest(
        b"From: dave@example.org\r\nTo: desk@example.com\r\nSubject: wombat sighting\r\n"
        b"Message-ID: <w1@example.org>\r\n\r\nplatypus in the garden\r\n"
    )
    mail_tn = mailed["ticket"] if isinstance(mailed.get("ticket"), str) else mailed.get("tn")
    assert _found(desk, "platypus") == {mail_tn} and _found(desk, "wombat") == {mail_tn}
    assert _found_in(desk, "dave example org", "from") == {mail_tn}
    with desk.engine.begin() as conn:
        conn.execute(text("UPDATE article SET body = 'capybara now' WHERE body LIKE '%zebrafish%'"))
        conn.execute(text("UPDATE ticket SET title = 'Loud ticket' WHERE tn = :tn"), {"tn": tn})
    assert _found(desk, "zebrafish") == set() and _found(desk, "capybara") == {tn}
    assert _found_in(desk, "quiet", "title") == set() and _found_in(desk, "loud", "title") == {tn}
    with desk.engine.begin() as conn:
        ids = [
            r[0]
            for r in conn.execute(
                text("SELECT id FROM article WHERE ticket_id = (SELECT id FROM ticket WHERE tn = :tn)"), {"tn": mail_tn}
            )
        ]
        for table in ("article_attachment", "article_plain"):
            conn.execute(text(f"DELETE FROM {table} WHERE article_id IN ({','.join(map(str, ids))})"))
        conn.execute(text(f"DELETE FROM article WHERE id IN ({','.join(map(str, ids))})"))
    assert _found(desk, "platypus") == set()
    if desk.engine.dialect.name == "sqlite":
        with desk.engine.begin() as conn:  # the external-content index agrees with its tables
            conn.execute(text("INSERT INTO article_fts(article_fts) VALUES ('integrity-check')"))
            conn.execute(text("INSERT INTO ticket_fts(ticket_fts) VALUES ('integrity-check')"))


def test_ticket_delete_and_merge_leave_the_index_true(desk: Desk) -> None:
    """Through the verbs themselves: a deleted ticket is found no more (its title nor its articles), a
    merged ticket's articles are found on the target, and SQLite's index agrees with its tables."""
    gone = desk.tickets.create(title="narwhal report", body="a narwhal in the harbour")["tn"]
    kept = desk.tickets.create(title="harbour log", body="harbour seals")["tn"]
    merged = desk.tickets.create(title="second sighting", body="a manatee near the pier")["tn"]
    assert _found(desk, "narwhal") == {gone} and _found(desk, "manatee") == {merged}
    desk.purge.delete([gone])
    assert _found(desk, "narwhal") == set() and _found(desk, "harbour") == {kept}
    desk.merges.merge([merged], into=kept)
    assert kept in _found(desk, "manatee")
    if desk.engine.dialect.name == "sqlite":
        with desk.engine.begin() as conn:
            conn.execute(text("INSERT INTO article_fts(article_fts) VALUES ('integrity-check')"))
            conn.execute(text("INSERT INTO ticket_fts(ticket_fts) VALUES ('integrity-check')"))


def test_a_failed_write_leaves_the_index_as_it_was(desk: Desk) -> None:
    tn = desk.tickets.create(title="t", body="first")["tn"]
    with pytest.raises(TktctlError):
        desk.tickets.note([tn, "2000010110000000"], body="axolotl")  # the unknown ticket fails the run
    assert _found(desk, "axolotl") == set()


def test_mariadb_refuses_words_below_the_token_size(desk: Desk) -> None:
    desk.tickets.create(title="an ox", body="ox")
    if desk.engine.dialect.name != "mysql":
        assert len(_found(desk, "ox")) == 1
        return
    with pytest.raises(UsageError, match="innodb_ft_min_token_size"):
        _found(desk, "ox")


# The command line ------------------------------------------------------------------------


@pytest.mark.e2e
def test_cli_search_list_text_and_bulk(cli: Cli) -> None:
    printer = cli("ticket", "create", "--title", "Printer on fire", "--body", "toner empty", "-q").stdout.strip()
    jam = cli("ticket", "create", "--title", "Paper jam", "--body", "printer paper stuck", "-q").stdout.strip()
    hits = cli("ticket", "search", "printer AND toner", "-o", "json").json
    assert [h["tn"] for h in hits] == [printer] and hits[0]["score"] > 0
    assert {h["tn"] for h in cli("ticket", "search", "printer", "--in", "body", "-o", "json").json} == {jam}
    assert cli("ticket", "search", "printer", "--limit", "1", "-q").stdout.count("\n") == 1
    assert cli("ticket", "list", "--text", '"paper stuck"', "-q").stdout.split() == [jam]
    assert cli("ticket", "count", "--text", "printer", "-o", "json").json == {"count": 2}
    closed = cli("ticket", "close", "--text", "toner", "-o", "json").json
    assert [t["tn"] for t in closed] == [printer] and closed[0]["state_type"] == "closed"
    assert [t["tn"] for t in cli("ticket", "export", "--text", "jam", "-o", "json").json] == [jam]
    assert cli("stats", "--text", "printer", "--by", "state_type", "-o", "json").json == [
        {"state_type": "closed", "count": 1, "time_units": 0.0},
        {"state_type": "new", "count": 1, "time_units": 0.0},
    ]


@pytest.mark.e2e
@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("ticket", "search", "NOT toner"), "NOT only excludes"),
        (("ticket", "search", '"open'), "no closing quote"),
        (("ticket", "search", "printer", "--in", "header"), "--in: cannot search 'header'"),
        (("ticket", "list", "--text", "a OR"), "ends where a word was expected"),
        (("ticket", "search", "printer", "--limit", "0"), "--limit"),
    ],
)
def test_cli_bad_queries_exit_2(cli: Cli, args: tuple[str, ...], message: str) -> None:
    result = cli(*args, expect=2)
    assert message in result.stderr
