"""Issue 14 §3: `stats` and `count` against a naive reference, and a bulk move's history and
deadlines with and without SLA queues (the move refreshes only the tickets that can change)."""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import timedelta
from itertools import combinations
from typing import Any

import pytest
from sqlalchemy import create_engine, event, text

from tests.conftest import Cli
from tktctl.api import Desk, TicketFilter
from tktctl.errors import ConflictError, NotFoundError

KEYS = ("queue", "state", "state_type", "priority", "owner", "lock")


def seed(desk: Desk) -> list[str]:
    """Tickets over three queues, states, priorities, two owners, locks, with time accounted on some."""
    for name in ("Alpha", "beta", "Gamma"):  # mixed case: the order of groups is the names' order
        desk.queues.create(name)
    desk.agents.create("zed")
    desk.acl.grant(["rw", "owner"], group="users", agent="zed")
    tns = []
    for i in range(18):
        queue = ("Alpha", "beta", "Gamma", "Raw")[i % 4]
        state = ("new", "open", "closed successful")[i % 3]
        tn = desk.tickets.create(title=f"t{i}", queue=queue, state=state, priority=1 + i % 5)["tn"]
        tns.append(tn)
        if i % 4 == 1:
            desk.tickets.assign([tn], to="zed")
        if i % 5 == 2 and state != "closed successful":
            desk.tickets.lock([tn])
        if i % 3 != 2:
            desk.tickets.note(tn, body="worked", time_units=1.5 + i)
            if i % 2:
                desk.tickets.note(tn, body="more", time_units=0.25)
    return tns


def query(desk: Desk, sql: str) -> list[Any]:
    """Rows read straight from the desk's database (not through tktctl)."""
    engine = create_engine(desk.engine.url)
    with engine.connect() as conn:
        rows = conn.execute(text(sql)).all()
    engine.dispose()
    return list(rows)


def reference(desk: Desk, by: tuple[str, ...], selection: TicketFilter | None = None) -> list[dict[str, Any]]:
    """What stats must say, counted naively from the listed tickets and their accounted time."""
    units: dict[str, float] = defaultdict(float)
    accounted = "SELECT t.tn, a.time_unit FROM time_accounting a JOIN ticket t ON t.id = a.ticket_id"
    for tn, amount in query(desk, accounted):
        units[tn] += float(amount)
    counts: Counter[tuple[Any, ...]] = Counter()
    totals: dict[tuple[Any, ...], float] = defaultdict(float)
    for ticket in desk.tickets.list(selection):
        key = tuple(ticket["priority" if b == "priority" else b] for b in by)
        counts[key] += 1
        totals[key] += units[ticket["tn"]]
    return [
        {**dict(zip(by, key, strict=True)), "count": counts[key], "time_units": totals[key]} for key in sorted(counts)
    ]


def same(got: list[dict[str, Any]], want: list[dict[str, Any]]) -> None:
    assert [{k: v for k, v in g.items() if k != "time_units"} for g in got] == [
        {k: v for k, v in w.items() if k != "time_units"} for w in want
    ]
    assert [round(g["time_units"], 6) for g in got] == [round(w["time_units"], 6) for w in want]


def test_stats_and_count_equal_a_naive_reference(desk: Desk) -> None:
    seed(desk)
    for size in (1, 2):
        for by in combinations(KEYS, size):
            same(desk.tickets.stats(by), reference(desk, by))
    same(desk.tickets.stats(("state_type", "queue", "lock")), reference(desk, ("state_type", "queue", "lock")))
    for selection in (
        TicketFilter(queue=["Alpha", "beta"]),
        TicketFilter(state_type=["open", "new"]),
        TicketFilter(queue=["Gamma"], state_type=["closed"]),
        TicketFilter(owner=["zed"], lock=["unlocked"]),
        TicketFilter(queue=["Alpha"], state=["open"], priority=[2, 3, 4]),
    ):
        assert desk.tickets.count(selection) == len(list(desk.tickets.list(selection)))
        same(desk.tickets.stats(("queue", "state"), selection), reference(desk, ("queue", "state"), selection))
    assert desk.tickets.stats(("queue",), TicketFilter(queue=["Junk"])) == []
    assert desk.tickets.count(TicketFilter(queue=["Junk"])) == 0


def test_count_reads_queue_and_state_names_from_the_configuration_cache(desk: Desk) -> None:
    """Queue, state and state type names are resolved as `ticket list` resolves them, from the
    configuration cache (no statement of their own); an owner or responsible name is one agent
    lookup each (agents are not configuration); then the one count statement."""
    seed(desk)
    desk.tickets.create(title="r", queue="Alpha", responsible="zed")
    selection = TicketFilter(queue=["Alpha", "beta"], state_type=["new", "open"], owner=["zed", "root@localhost"])
    expected = len(list(desk.tickets.list(selection)))
    statements: list[str] = []
    event.listen(desk.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    assert desk.tickets.count(selection) == expected > 0
    assert desk.tickets.count(TicketFilter(responsible=["zed"], state=["new"])) == 1
    counts = [s for s in statements if "count(" in s]
    agents = [s for s in statements if s.startswith("SELECT agent.") and "WHERE agent.login = " in s]
    others = [
        s
        for s in statements
        if s not in counts + agents and not s.startswith(("BEGIN", "SELECT value FROM desk_generation"))
    ]
    assert (len(counts), len(agents), others) == (2, 3, []), statements


def test_count_of_one_filter_shape_takes_each_calls_values(desk: Desk) -> None:
    """The count statement is built once per filter shape (which list filters, how many values,
    the actor's visible queues) and takes each call's values as parameters: the same shape with other
    names, values or agents (each seeing one queue of its own) gives their own answers, as `list` does."""
    seed(desk)
    for name in ("One", "Two"):
        desk.groups.create(f"g{name}")
        desk.queues.create(name, group=f"g{name}")
        desk.agents.create(f"agent{name}")
        desk.acl.grant(["ro"], group=f"g{name}", agent=f"agent{name}")
        for i in range(3 if name == "One" else 5):
            desk.tickets.create(title=f"{name} {i}", queue=name, state="open" if i % 2 else "new")
    filters = [
        *(TicketFilter(queue=[q], state_type=[t]) for q in ("Alpha", "beta", "One", "Two") for t in ("new", "open")),
        *(TicketFilter(lock=[lock]) for lock in ("locked", "unlocked")),
        *(TicketFilter(priority=p) for p in ([1], [2], [1, 3], [2, 4], [1, 2, 3])),
        TicketFilter(queue=["Alpha", "Gamma"], title="t1"),
        TicketFilter(),
    ]
    url = desk.engine.url.render_as_string(hide_password=False)
    seen = {}
    for login in ("root@localhost", "agentOne", "agentTwo"):
        agent = Desk(url, actor=login)
        try:
            for selection in filters:
                assert agent.tickets.count(selection) == len(list(agent.tickets.list(selection))), (login, selection)
            seen[login] = agent.tickets.count()
        finally:
            agent.close()
    assert seen == {"root@localhost": 26, "agentOne": 3, "agentTwo": 5}


def test_stats_names_its_groups_in_the_grouping_statement(desk: Desk) -> None:
    """Two statements on the tickets (groups, time units), nothing else but the configuration
    generation and (on a cold cache) the acting agent's read:
    no lookup of the filter's names and no read of queues, states or agents to name the groups."""
    seed(desk)
    by, selection = ("queue", "state_type", "owner", "lock"), TicketFilter(queue=["Alpha", "beta"], state="open,new")
    want = reference(desk, by, selection)
    statements: list[str] = []
    event.listen(desk.engine, "before_cursor_execute", lambda *args: statements.append(args[2]))
    same(desk.tickets.stats(by, selection), want)
    on_tickets = [s for s in statements if "ticket" in s]
    others = [
        s
        for s in statements
        if "ticket" not in s and not s.startswith(("BEGIN", "SELECT agent.", "SELECT value FROM desk_generation"))
    ]
    assert len(on_tickets) == 2 and not others, statements


@pytest.mark.parametrize(
    ("selection", "unknown"),
    [
        (TicketFilter(queue=["Alpha", "Nope"]), "queue 'Nope'"),
        (TicketFilter(queue=["Alpha"], state=["open", "ajar"]), "state 'ajar'"),
        (TicketFilter(state_type=["open", "limbo"]), "state type 'limbo'"),
        (TicketFilter(owner=["zed", "ghost"]), "agent 'ghost'"),
        (TicketFilter(responsible=["ghost"]), "agent 'ghost'"),
    ],
)
def test_count_of_an_unknown_name_is_not_found_even_beside_known_ones(
    desk: Desk, selection: TicketFilter, unknown: str
) -> None:
    seed(desk)
    with pytest.raises(NotFoundError, match=f"{unknown} not found"):
        desk.tickets.count(selection)


def test_count_repeats_a_name_without_taking_it_for_unknown(desk: Desk) -> None:
    seed(desk)
    assert desk.tickets.count(TicketFilter(queue=["Alpha", "Alpha"], state_type="open,open")) == len(
        list(desk.tickets.list(TicketFilter(queue=["Alpha"], state_type=["open"])))
    )


def test_stats_seen_by_an_agent_count_only_the_tickets_it_sees(desk: Desk) -> None:
    seed(desk)
    desk.queues.create("Secret", group="admin")
    desk.tickets.create(title="hidden", queue="Secret")
    desk.agents.create("ro")
    desk.acl.grant(["ro"], group="users", agent="ro")
    agent = Desk(desk.engine.url.render_as_string(hide_password=False), actor="ro")
    try:
        stats = agent.tickets.stats(("queue",))
        assert "Secret" not in [row["queue"] for row in stats]
        assert sum(row["count"] for row in stats) == agent.tickets.count() == 18
        assert desk.tickets.count() == 19
    finally:
        agent.close()


def test_stats_cli_groups_on_names_in_order(cli: Cli) -> None:
    for queue in ("b-queue", "A-queue"):
        cli("queue", "create", queue, "-q")
    for queue, title in (("b-queue", "x"), ("A-queue", "y"), ("A-queue", "z")):
        cli("ticket", "create", "--queue", queue, "--title", title, "-q")
    rows = cli("stats", "--by", "queue,state_type", "--queue", "A-queue", "--queue", "b-queue", "-o", "json").json
    assert rows == [
        {"queue": "A-queue", "state_type": "new", "count": 2, "time_units": 0},
        {"queue": "b-queue", "state_type": "new", "count": 1, "time_units": 0},
    ]
    assert cli("ticket", "count", "--queue", "A-queue", "--state-type", "new", "-q").stdout == "2\n"


@pytest.mark.parametrize(
    "flags",
    [
        ("--state", "OPEN"),
        ("--queue", "alpha"),
        ("--owner", "ROOT@localhost"),
        ("--state-type", "NEW"),
        # An unknown name beside a bad value: the name's not-found error first, on every verb
        # (count and stats resolved names after the other flags and said exit 2 for the value).
        ("--queue", "Nope", "--priority", "9"),
        ("--state", "OPEN", "--lock", "maybe"),
        ("--owner", "ghost", "--created-before", "garbage"),
    ],
)
def test_count_stats_and_list_fail_alike_on_a_name_not_found(cli: Cli, flags: tuple[str, ...]) -> None:
    """The same filter gives the same outcome on every verb: count and stats resolve names by the
    lookups of `ticket list` (exact names, the same not-found error and exit code)."""
    cli("queue", "create", "Alpha", "-q")
    cli("ticket", "create", "--queue", "Alpha", "--title", "t", "-q")
    outcomes = {
        (r.exit_code, r.stderr)
        for verb in (("ticket", "count"), ("stats",), ("ticket", "list"))
        for r in [cli(*verb, *flags, "-q", expect=None)]
    }
    assert len(outcomes) == 1, outcomes
    ((code, stderr),) = outcomes
    assert code == 3 and "not found" in stderr


def test_count_stats_and_list_select_alike_by_exact_names(cli: Cli) -> None:
    cli("queue", "create", "Alpha", "-q")
    cli("queue", "create", "alpha", "-q")  # names differing only in case are two queues
    for queue, state in (("Alpha", "open"), ("Alpha", "new"), ("alpha", "open"), ("Raw", "open")):
        cli("ticket", "create", "--queue", queue, "--state", state, "--title", "t", "-q")
    for flags in (
        ("--queue", "Alpha"),
        ("--queue", "alpha", "--state", "open"),
        ("--state-type", "open", "--owner", "root@localhost"),
        ("--queue", "Alpha", "--queue", "alpha", "--state", "open,new"),
    ):
        listed = cli("ticket", "list", *flags, "-q").stdout.split()
        counted = int(cli("ticket", "count", *flags, "-q").stdout)
        grouped = cli("stats", *flags, "-o", "json").json
        assert counted == len(listed) == sum(row["count"] for row in grouped) > 0, flags


def test_a_name_with_a_trailing_space_is_another_name_on_every_backend(cli: Cli) -> None:
    """Regression: MariaDB's binary collation pads, so "Raw " found queue Raw and "root@localhost "
    the agent there (on every verb and as the acting agent) while SQLite and PostgreSQL said not found."""
    cli("ticket", "create", "--queue", "Raw", "--title", "t", "-q")
    for verb in (("ticket", "list"), ("ticket", "count"), ("stats",)):
        for flags in (("--queue", "Raw "), ("--owner", "root@localhost ")):
            result = cli(*verb, *flags, expect=3)
            assert "not found" in result.stderr, (verb, flags)
    assert "not found" in cli("ticket", "create", "--queue", "Raw ", "--title", "t", expect=3).stderr
    assert "not found" in cli("--as", "root@localhost ", "ticket", "list", expect=3).stderr
    assert "not found" in cli("queue", "create", "Q", "--group", "admin ", expect=3).stderr
    assert "not found" in cli("group", "show", "admin ", expect=3).stderr


# Bulk move: deadlines and history ------------------------------------------------------------


def escalation_columns(desk: Desk) -> dict[str, tuple[Any, ...]]:
    columns = "tn, escalation_at, escalation_check_at, escalation_response_at, first_closed_at"
    return {tn: tuple(rest) for tn, *rest in query(desk, f"SELECT {columns} FROM ticket")}


def moves(desk: Desk, tn: str) -> list[dict[str, Any]]:
    return [h["data"] for h in desk.tickets.history(tn) if h["type"] == "Move"]


def test_move_between_queues_without_sla_writes_history_and_no_deadlines(desk: Desk) -> None:
    desk.queues.create("Plain")
    tns = [desk.tickets.create(title=f"t{i}")["tn"] for i in range(3)]
    closed = desk.tickets.create(title="done", state="closed successful")["tn"]
    result = desk.tickets.move(TicketFilter(queue=["Raw"]), to="Plain")
    assert (result.matched, result.changed) == (4, 4)
    assert list(result.numbers()) == [*tns, closed]
    for tn in [*tns, closed]:
        assert moves(desk, tn) == [{"from": "Raw", "to": "Plain"}]
    columns = escalation_columns(desk)
    assert all(columns[tn][:3] == (None, None, None) for tn in columns)
    assert columns[closed][3] is not None  # stamped when it was closed, kept


def test_move_into_and_out_of_an_sla_queue_keeps_deadlines_right(desk: Desk) -> None:
    desk.queues.create("Timed", first_response_time=60)
    desk.queues.create("Plain")
    plain = [desk.tickets.create(title=f"p{i}", queue="Plain")["tn"] for i in range(2)]
    timed = desk.tickets.create(title="t", queue="Timed")["tn"]
    columns = escalation_columns(desk)
    assert columns[timed][0] is not None and all(columns[tn][0] is None for tn in plain)
    # Into the SLA queue: the moved tickets get their first response deadline (creation + 60 min).
    desk.tickets.move(plain, to="Timed")
    for tn in plain:
        record = desk.tickets.show(tn)
        assert record["escalation"]["response"]["deadline"] == record["created"] + timedelta(minutes=60)
    # Out again, by filter (the filter no longer matches them after the move): deadlines cleared.
    result = desk.tickets.move(TicketFilter(queue=["Timed"]), to="Plain")
    assert result.changed == 3
    columns = escalation_columns(desk)
    assert all(columns[tn][:3] == (None, None, None) for tn in [*plain, timed])
    assert moves(desk, timed) == [{"from": "Timed", "to": "Plain"}]
    assert moves(desk, plain[0]) == [{"from": "Plain", "to": "Timed"}, {"from": "Timed", "to": "Plain"}]
    # Between two queues without SLA while another queue has one: nothing to compute, nothing set.
    desk.queues.create("Other")
    desk.tickets.move(TicketFilter(queue=["Plain"]), to="Other")
    assert all(value[:3] == (None, None, None) for value in escalation_columns(desk).values())


def test_move_stamps_a_closed_ticket_never_stamped(desk: Desk, db_url: str) -> None:
    """A closed ticket without first_closed_at (as an old desk's) is stamped by a move, as by any refresh."""
    desk.queues.create("Plain")
    tn = desk.tickets.create(title="old", state="closed successful")["tn"]
    engine = create_engine(db_url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE ticket SET first_closed_at = NULL WHERE tn = :tn"), {"tn": tn})
    engine.dispose()
    desk.tickets.move(TicketFilter(queue=["Raw"]), to="Plain")
    assert escalation_columns(desk)[tn][3] is not None


def test_move_quiet_prints_the_numbers_in_the_order_given(cli: Cli) -> None:
    cli("queue", "create", "Plain", "-q")
    tns = [cli("ticket", "create", "--title", f"t{i}", "-q").stdout.strip() for i in range(3)]
    given = [tns[2], tns[0], tns[1]]
    assert cli("ticket", "move", *given, "--to", "Plain", "-q").stdout.split() == given
    assert cli("ticket", "move", "--queue", "Plain", "--to", "Raw", "-o", "ids").stdout.split() == tns
    records = cli("ticket", "move", "--queue", "Raw", "--to", "Plain", "-o", "json").json
    assert [r["tn"] for r in records] == tns and {r["queue"] for r in records} == {"Plain"}


def test_stats_time_units_are_summed_over_articles(desk: Desk) -> None:
    tn = desk.tickets.create(title="t")["tn"]
    desk.tickets.note(tn, body="a", time_units=1.25)
    desk.tickets.note(tn, body="b", time_units=2)
    desk.tickets.create(title="u")
    assert desk.tickets.stats(("queue",)) == [{"queue": "Raw", "count": 2, "time_units": 3.25}]


def ticket_reads(desk: Desk, work: Any) -> tuple[Any, list[str]]:
    """What ``work()`` returned and the SELECTs it ran on the ticket table (not its counts)."""
    statements: list[str] = []

    def record(conn: Any, cursor: Any, sql: str, *rest: Any) -> None:
        statements.append(" ".join(sql.split()))

    event.listen(desk.engine, "before_cursor_execute", record)
    try:
        result = work()
    finally:
        event.remove(desk.engine, "before_cursor_execute", record)
    reads = [s for s in statements if s.upper().startswith("SELECT") and " FROM ticket " in s and "count(" not in s]
    return result, reads


def test_move_quiet_by_filter_reads_the_tickets_once_with_their_numbers(desk: Desk) -> None:
    """`ticket move --queue … -q` takes the numbers, and the tickets a move out of any SLA refreshes,
    from the locking read of the selection, and the lock guard its locks: no other read of the tickets,
    and the refresh still stamps a closed ticket never stamped (regression: a lock read, a deadline
    read and a numbers read after the commit, each over every moved ticket)."""
    desk.queues.create("Plain")
    tns = [desk.tickets.create(title=f"t{i}")["tn"] for i in range(3)]
    old = desk.tickets.create(title="old", state="closed successful")["tn"]
    engine = create_engine(desk.engine.url)
    with engine.begin() as conn:
        conn.execute(text("UPDATE ticket SET first_closed_at = NULL WHERE tn = :tn"), {"tn": old})
    engine.dispose()
    numbers, reads = ticket_reads(
        desk, lambda: list(desk.tickets.move(TicketFilter(queue=["Raw"]), to="Plain").numbers())
    )
    assert numbers == [*tns, old]
    assert len(reads) == 1 and "ticket.tn" in reads[0] and "ticket.locked" in reads[0], reads
    assert escalation_columns(desk)[old][3] is not None
    assert {moves(desk, tn)[-1]["to"] for tn in [*tns, old]} == {"Plain"}


def test_move_quiet_by_number_reads_no_numbers_after_the_change(desk: Desk) -> None:
    """Numbers given: they come back in the order given from the locking read by number (regression:
    a read of the numbers after the commit)."""
    desk.queues.create("Plain")
    tns = [desk.tickets.create(title=f"t{i}")["tn"] for i in range(3)]
    given = [tns[2], tns[0], tns[1]]
    numbers, reads = ticket_reads(desk, lambda: list(desk.tickets.move(given, to="Plain").numbers()))
    assert numbers == given
    assert [s for s in reads if s.startswith("SELECT ticket.id, ticket.tn FROM ticket WHERE")] == [], reads


def test_a_bulk_change_by_filter_refuses_tickets_locked_by_another_from_its_one_read(desk: Desk) -> None:
    """The lock guard names the first ticket locked by another agent (id order) and counts the others
    from the selecting read; the actor's own locks do not stop it (regression: a read of its own)."""
    desk.queues.create("Plain")
    desk.agents.create("bob")
    desk.acl.grant(["rw", "move_into", "owner"], group="users", agent="bob")
    tns = [desk.tickets.create(title=f"t{i}")["tn"] for i in range(4)]
    desk.tickets.lock([tns[1], tns[3]])  # by root
    bob = Desk(desk.url, actor="bob")
    for change in (
        lambda: bob.tickets.move(TicketFilter(queue=["Raw"]), to="Plain"),
        lambda: bob.tickets.close(TicketFilter(queue=["Raw"])),
    ):
        with pytest.raises(ConflictError) as refused:
            ticket_reads(bob, change)
        assert str(refused.value) == (
            f"ticket {tns[1]} is locked by root@localhost (and 1 more); take it over with `tktctl ticket lock --steal`"
        )
    assert {t["queue"] for t in desk.tickets.list()} == {"Raw"}
    bob.tickets.lock([tns[0]])  # bob's own lock
    desk.tickets.unlock([tns[1], tns[3]])
    moved, reads = ticket_reads(bob, lambda: list(bob.tickets.move(TicketFilter(queue=["Raw"]), to="Plain").numbers()))
    assert moved == tns and len(reads) == 1, reads
    bob.close()
