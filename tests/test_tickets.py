"""The ticket lifecycle through the Python API, on every backend."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from tktctl.api import ConflictError, Desk, NotFoundError, PartialFailure, TicketFilter, UsageError


def history_types(desk: Desk, tn: str) -> list[str]:
    return [h["type"] for h in desk.tickets.history(tn)]


@pytest.fixture
def bob(desk: Desk) -> Desk:
    desk.agents.create("bob", name="Bob Ruiz", email="bob@example.com")
    desk.acl.grant("rw", group="users", agent="bob")
    return Desk(desk.url, actor="bob")


def test_create_prints_the_ticket_with_its_article_and_history(desk: Desk) -> None:
    desk.queues.create("Tier 1", first_response_time=60)
    ticket = desk.tickets.create(
        queue="Tier 1",
        title="Printer on fire",
        customer="alice@example.com",
        priority="high",
        channel="phone",
        body="It is smoking.\n",
    )
    assert ticket["created_now"] is True
    assert (ticket["queue"], ticket["state"], ticket["state_type"]) == ("Tier 1", "new", "new")
    assert (ticket["priority"], ticket["priority_name"], ticket["lock"]) == (4, "4 high", "unlocked")
    assert ticket["owner"] == "root@localhost"
    assert len(ticket["tn"]) == 16 and ticket["tn"].isdigit()
    shown = desk.tickets.show(ticket["tn"])
    assert [a["body"] for a in shown["articles"]] == ["It is smoking.\n"]
    assert shown["articles"][0]["sender"] == "customer"
    assert history_types(desk, ticket["tn"]) == ["NewTicket", "PhoneCallCustomer"]


def test_ticket_numbers_follow_date_checksum(desk: Desk) -> None:
    from tktctl.tickets.numbering import checksum

    first = desk.tickets.create(title="a")["tn"]
    second = desk.tickets.create(title="b")["tn"]
    today = datetime.now(timezone.utc).strftime("%Y%m%d")
    for tn, counter in ((first, 1), (second, 2)):
        assert tn[:8] == today and tn[8:10] == "10" and int(tn[10:15]) == counter
        assert int(tn[-1]) == checksum(tn[:-1])


def test_external_id_makes_create_idempotent(desk: Desk) -> None:
    first = desk.tickets.create(title="from monitoring", external_id="nagios-42")
    again = desk.tickets.create(title="from monitoring (retry)", external_id="nagios-42")
    assert again["created_now"] is False
    assert again["tn"] == first["tn"] and again["title"] == "from monitoring"
    assert len(list(desk.tickets.list())) == 1


def test_a_retry_reads_the_keyed_ticket_in_one_statement_and_its_owner_sees_it(desk: Desk) -> None:
    """The ticket holding the key comes with its owner in one read: the owner decides the
    visibility (bob owns a ticket in a queue he may not see: his retry gets it back)."""
    from sqlalchemy import event

    desk.agents.create("bob")
    desk.acl.grant("create", group="users", agent="bob")
    desk.queues.create("Hidden", group="admin")
    first = desk.tickets.create(title="bob's", queue="Hidden", owner="bob", external_id="k-1")
    bob = Desk(desk.url, actor="bob")
    statements: list[str] = []
    event.listen(bob.engine, "before_cursor_execute", lambda conn, cursor, sql, *rest: statements.append(sql))
    again = bob.tickets.create(title="retry", queue="Raw", external_id="k-1")
    bob.close()
    assert (again["tn"], again["title"], again["owner"], again["created_now"]) == (first["tn"], "bob's", "bob", False)
    assert "owner_id" not in again
    on_ticket = [s for s in statements if "FROM ticket " in s and "ticket_number" not in s]
    assert len(on_ticket) == 1 and "external_id" in on_ticket[0], statements


def test_list_filters_sort_and_limit(desk: Desk) -> None:
    desk.queues.create("Tier 1")
    a = desk.tickets.create(title="alpha printer", queue="Tier 1", priority=2, customer="c1")
    b = desk.tickets.create(title="beta", queue="Tier 1", priority=5)
    c = desk.tickets.create(title="gamma printer", queue="Raw", priority=4)
    desk.tickets.close([c["tn"]])

    def tns(selection: TicketFilter, **kw: object) -> list[str]:
        return [t["tn"] for t in desk.tickets.list(selection, **kw)]  # type: ignore[arg-type]

    assert tns(TicketFilter(queue=["Tier 1"])) == [a["tn"], b["tn"]]
    assert tns(TicketFilter(state_type=["closed"])) == [c["tn"]]
    assert tns(TicketFilter(priority=["very high", "2"])) == [a["tn"], b["tn"]]
    assert tns(TicketFilter(title="printer")) == [a["tn"], c["tn"]]
    assert tns(TicketFilter(customer=["c1"])) == [a["tn"]]
    assert tns(TicketFilter(), sort="-priority") == [b["tn"], c["tn"], a["tn"]]
    assert tns(TicketFilter(), sort="-priority", limit=1) == [b["tn"]]
    assert tns(TicketFilter(changed_before="+1h", created_after="1h")) == [a["tn"], b["tn"], c["tn"]]
    assert tns(TicketFilter(created_before="1h")) == []
    assert tns(TicketFilter(lock="locked")) == []


def test_title_filter_treats_wildcards_literally(desk: Desk) -> None:
    desk.tickets.create(title="100% done")
    desk.tickets.create(title="1000 done")
    assert [t["title"] for t in desk.tickets.list(TicketFilter(title="0%"))] == ["100% done"]


@pytest.mark.parametrize(
    ("selection", "kind"),
    [
        (TicketFilter(queue=["Nope"]), NotFoundError),
        (TicketFilter(state=["weird"]), NotFoundError),
        (TicketFilter(state_type=["weird"]), NotFoundError),
        (TicketFilter(owner=["ghost"]), NotFoundError),
        (TicketFilter(priority=["urgent"]), UsageError),
        (TicketFilter(lock="maybe"), UsageError),
        (TicketFilter(created_before="last tuesday-ish"), UsageError),
    ],
)
def test_bad_filters_are_reported(desk: Desk, selection: TicketFilter, kind: type[Exception]) -> None:
    with pytest.raises(kind):
        list(desk.tickets.list(selection))


def test_move_writes_move_history_and_skips_no_ops(desk: Desk) -> None:
    desk.queues.create("Tier 2")
    tn = desk.tickets.create(title="t")["tn"]
    (moved,) = desk.tickets.move([tn], "Tier 2")
    assert moved["queue"] == "Tier 2"
    desk.tickets.move([tn], "Tier 2")
    moves = [h for h in desk.tickets.history(tn) if h["type"] == "Move"]
    assert [m["data"] for m in moves] == [{"from": "Raw", "to": "Tier 2"}]


def test_bulk_change_is_atomic(desk: Desk) -> None:
    desk.queues.create("Tier 2")
    tns = [desk.tickets.create(title=f"t{i}")["tn"] for i in range(3)]
    with pytest.raises(NotFoundError):
        desk.tickets.move([*tns, "2000010110000001"], "Tier 2")
    assert {t["queue"] for t in desk.tickets.list()} == {"Raw"}
    assert all("Move" not in history_types(desk, tn) for tn in tns)


def test_continue_on_error_changes_the_good_ones_and_reports_each(desk: Desk, bob: Desk) -> None:
    desk.queues.create("Tier 2")
    good, held = (desk.tickets.create(title=t)["tn"] for t in ("good", "held"))
    bob.tickets.lock([held])
    with pytest.raises(PartialFailure) as failure:
        desk.tickets.move([good, held, "2000010110000001"], "Tier 2", continue_on_error=True)
    outcomes = {o["tn"]: o for o in failure.value.results}
    assert outcomes[good]["ok"] is True and outcomes[good]["ticket"]["queue"] == "Tier 2"
    assert outcomes[held]["error"]["code"] == "conflict"
    assert outcomes["2000010110000001"]["error"]["code"] == "not_found"
    assert desk.tickets.show(held)["queue"] == "Raw"


def test_dry_run_shows_the_result_and_writes_nothing(desk: Desk) -> None:
    tn = desk.tickets.create(title="t")["tn"]
    (preview,) = desk.tickets.prioritize([tn], raise_by=2, dry_run=True)
    assert preview["priority"] == 5
    assert desk.tickets.show(tn)["priority"] == 3
    assert history_types(desk, tn) == ["NewTicket"]


def test_lock_unlock_and_steal(desk: Desk, bob: Desk) -> None:
    tn = desk.tickets.create(title="t")["tn"]
    (locked,) = bob.tickets.lock([tn])
    assert (locked["lock"], locked["owner"]) == ("locked", "bob")
    with pytest.raises(ConflictError, match="locked by bob"):
        desk.tickets.lock([tn])
    with pytest.raises(ConflictError, match="already locked by you"):
        bob.tickets.lock([tn])
    with pytest.raises(ConflictError, match="locked by bob"):
        desk.tickets.prioritize([tn], to=5)
    with pytest.raises(ConflictError, match="locked by bob"):
        desk.tickets.unlock([tn])
    (stolen,) = desk.tickets.lock([tn], steal=True)
    assert stolen["owner"] == "root@localhost"
    (free,) = desk.tickets.unlock([tn])
    assert free["lock"] == "unlocked"
    with pytest.raises(ConflictError, match="not locked"):
        desk.tickets.unlock([tn])
    history = desk.tickets.history(tn)
    assert [h["type"] for h in history] == ["NewTicket", "Lock", "OwnerUpdate", "Lock", "OwnerUpdate", "Unlock"]
    assert history[3]["data"] == {"from": "lock", "to": "lock", "stolen_from": "bob"}  # names who had it
    steal = history[4]
    assert steal["actor"] == "root@localhost" and steal["data"] == {
        "from": "bob",
        "to": "root@localhost",
        "stolen": True,
    }


def test_filter_takes_one_string_as_one_value(desk: Desk) -> None:
    desk.queues.create("Alerts")
    tn = desk.tickets.create(title="t", queue="Alerts")["tn"]
    desk.tickets.create(title="elsewhere")
    chosen = TicketFilter(queue="Alerts", state_type="new", priority=3, lock="unlocked", owner="root@localhost")
    assert [t["tn"] for t in desk.tickets.list(chosen)] == [tn]
    assert desk.tickets.count(TicketFilter(state_type="new,open", queue=["Alerts"])) == 1


def test_integers_beyond_the_database_are_usage_errors_or_capped(desk: Desk) -> None:
    tn = desk.tickets.create(title="t")["tn"]
    with pytest.raises(UsageError, match="--limit"):
        list(desk.tickets.list(limit=2**31))
    (high,) = desk.tickets.prioritize([tn], raise_by=10**20)  # capped, as any --raise
    (low,) = desk.tickets.prioritize([tn], lower_by=10**20)
    assert (high["priority"], low["priority"]) == (5, 1)


def test_prioritize_caps_and_validates(desk: Desk) -> None:
    tn = desk.tickets.create(title="t", priority="very high")["tn"]
    (same,) = desk.tickets.prioritize([tn], raise_by=1)
    assert same["priority"] == 5
    (low,) = desk.tickets.prioritize([tn], lower_by=10)
    assert low["priority"] == 1
    (named,) = desk.tickets.prioritize([tn], to="3 normal")
    assert named["priority_name"] == "3 normal"
    with pytest.raises(UsageError):
        desk.tickets.prioritize([tn], to=9)
    with pytest.raises(UsageError):
        desk.tickets.prioritize([tn], to=2, raise_by=1)
    updates = [h["data"] for h in desk.tickets.history(tn) if h["type"] == "PriorityUpdate"]
    assert updates == [{"from": "5 very high", "to": "1 very low"}, {"from": "1 very low", "to": "3 normal"}]


def test_close_unlocks_notes_and_reopen(desk: Desk) -> None:
    tn = desk.tickets.create(title="t")["tn"]
    desk.tickets.lock([tn])
    (closed,) = desk.tickets.close([tn], to="closed unsuccessful", note="no answer")
    assert (closed["state"], closed["state_type"], closed["lock"]) == ("closed unsuccessful", "closed", "unlocked")
    assert desk.tickets.show(tn)["articles"][-1]["body"] == "no answer"
    with pytest.raises(UsageError):
        desk.tickets.close([tn], to="open")
    (reopened,) = desk.tickets.reopen([tn])
    assert reopened["state"] == "open"
    with pytest.raises(ConflictError, match="not closed"):
        desk.tickets.reopen([tn])
    assert history_types(desk, tn) == ["NewTicket", "Lock", "AddNote", "StateUpdate", "Unlock", "StateUpdate"]


def test_pending_state_needs_a_time(desk: Desk) -> None:
    tn = desk.tickets.create(title="t")["tn"]
    with pytest.raises(UsageError, match="needs --pending-until"):
        desk.tickets.set_state([tn], to="pending reminder")
    with pytest.raises(UsageError):
        desk.tickets.set_state([tn], to="open", pending_until="+1d")
    with pytest.raises(ConflictError):
        desk.tickets.set_state([tn], to="merged")
    (pending,) = desk.tickets.set_state([tn], to="pending auto close+", pending_until="+2d")
    due = pending["pending_until"]
    assert timedelta(days=1, hours=23) < due - datetime.now(timezone.utc) <= timedelta(days=2)
    assert history_types(desk, tn)[-2:] == ["StateUpdate", "SetPendingTime"]


def test_assign_owner_and_responsible(desk: Desk, bob: Desk) -> None:
    tn = desk.tickets.create(title="t")["tn"]
    (owned,) = desk.tickets.assign([tn], to="bob")
    (resp,) = desk.tickets.assign([tn], to="bob", responsible=True)
    assert (owned["owner"], resp["responsible"]) == ("bob", "bob")
    with pytest.raises(NotFoundError):
        desk.tickets.assign([tn], to="ghost")
    entries = [(h["type"], h["data"]) for h in desk.tickets.history(tn)][1:]
    assert entries == [
        ("OwnerUpdate", {"from": "root@localhost", "to": "bob"}),
        ("ResponsibleUpdate", {"from": None, "to": "bob"}),
    ]


def test_note_internal_and_visible(desk: Desk) -> None:
    tn = desk.tickets.create(title="t")["tn"]
    desk.tickets.note(tn, body="for the team", internal=True)
    desk.tickets.note(tn, body="for the customer", subject="Update")
    articles = desk.tickets.show(tn)["articles"]
    assert [(a["body"], a["visible_to_customer"], a["channel"]) for a in articles] == [
        ("for the team", False, "internal"),
        ("for the customer", True, "internal"),
    ]
    with pytest.raises(UsageError):
        desk.tickets.note(tn, body="   ")


def test_history_export_filters(desk: Desk) -> None:
    desk.queues.create("Tier 2")
    a = desk.tickets.create(title="a")["tn"]
    desk.tickets.move([a], "Tier 2")
    desk.tickets.lock([a])
    everything = list(desk.history.export())
    assert [h["type"] for h in everything] == ["NewTicket", "Move", "Lock"]
    assert [h["type"] for h in desk.history.export(types=["Move", "Lock"])] == ["Move", "Lock"]
    assert [h["type"] for h in desk.history.export(queues=["Tier 2"])] == ["Move", "Lock"]
    assert list(desk.history.export(since="+1h")) == []
    assert len(list(desk.history.export(since="1h", until="+1h"))) == 3
    with pytest.raises(UsageError):
        list(desk.history.export(since="+1h", until="1h"))


def test_history_records_own_their_values(desk: Desk) -> None:
    """Repeated payloads are decoded once, yet each record owns its dict; times are aware UTC."""
    tns = [desk.tickets.create(title=f"t{i}")["tn"] for i in range(3)]
    desk.tickets.prioritize(tns, raise_by=1)
    rows = list(desk.history.export(types=["PriorityUpdate"]))
    assert [h["data"] for h in rows] == [{"from": "3 normal", "to": "4 high"}] * 3
    rows[0]["data"]["to"] = "changed"
    assert [h["data"]["to"] for h in desk.history.export(types=["PriorityUpdate"])] == ["4 high"] * 3
    assert rows[1]["data"] == {"from": "3 normal", "to": "4 high"}
    assert all(h["at"].tzinfo is timezone.utc for h in rows)
    assert desk.tickets.history(tns[1]) == [h for h in desk.history.export() if h["ticket"] == tns[1]]


def test_history_export_does_not_depend_on_what_it_keeps_decoded(desk: Desk, monkeypatch: pytest.MonkeyPatch) -> None:
    from tktctl.tickets import records

    desk.queues.create("Tier 1")
    tns = [desk.tickets.create(title=f"t{i}")["tn"] for i in range(4)]
    desk.tickets.move(tns, "Tier 1")
    desk.tickets.prioritize(tns[1:], raise_by=1)
    desk.tickets.move(tns[:2], "Raw")
    desk.tickets.prioritize(tns, raise_by=1)
    desk.tickets.lock(tns[2:])
    everything = list(desk.history.export())
    assert len({str(h["data"]) for h in everything}) > 4
    monkeypatch.setattr(records, "PAYLOADS", 1)  # emptied at every new payload
    assert list(desk.history.export()) == everything
    monkeypatch.setattr(records, "PAYLOAD_TEXT", 0)  # none kept
    assert list(desk.history.export()) == everything


def test_disabled_queue_takes_no_tickets(desk: Desk) -> None:
    desk.queues.create("Old")
    tn = desk.tickets.create(title="t", queue="Old")["tn"]
    desk.queues.set_valid("Old", False)
    with pytest.raises(ConflictError, match="disabled"):
        desk.tickets.create(title="u", queue="Old")
    with pytest.raises(ConflictError, match="disabled"):
        desk.tickets.move([tn], "Old")
    assert desk.tickets.show(tn)["queue"] == "Old"


def test_queue_delete_only_when_never_used(desk: Desk) -> None:
    desk.queues.create("Empty")
    desk.queues.create("Used")
    desk.tickets.create(title="t", queue="Used")
    with pytest.raises(ConflictError, match="has 1 ticket;"):
        desk.queues.delete("Used")
    assert desk.queues.delete("Empty")["name"] == "Empty"
    assert "Empty" not in {q["name"] for q in desk.queues.list()}


def test_queue_create_update_rename(desk: Desk) -> None:
    queue = desk.queues.create("Tier 1", group="users", unlock_timeout=30, first_response_time=60, solution_time=480)
    assert (queue["unlock_timeout"], queue["first_response_time"], queue["solution_time"]) == (30, 60, 480)
    with pytest.raises(ConflictError):
        desk.queues.create("Tier 1")
    assert desk.queues.create("Tier 1", if_not_exists=True)["id"] == queue["id"]
    updated = desk.queues.update("Tier 1", update_time=120, unlock_timeout=None, follow_up="reject")
    assert (updated["update_time"], updated["unlock_timeout"], updated["follow_up"]) == (120, None, "reject")
    tn = desk.tickets.create(title="t", queue="Tier 1")["tn"]
    desk.queues.rename("Tier 1", "First Level")
    assert desk.tickets.show(tn)["queue"] == "First Level"
    with pytest.raises(ConflictError):
        desk.queues.rename("First Level", "Raw")
    with pytest.raises(NotFoundError):
        desk.queues.create("X", group="nogroup")
    with pytest.raises(UsageError):
        desk.queues.update("Raw", follow_up="sometimes")


def test_unknown_acting_agent_is_not_found(desk: Desk) -> None:
    ghost = Desk(desk.url, actor="ghost")
    with pytest.raises(NotFoundError, match="acting agent 'ghost'"):
        ghost.tickets.create(title="t")


def test_names_are_case_sensitive_on_every_backend(desk: Desk) -> None:
    desk.queues.create("support")
    desk.queues.create("Support")
    assert {"support", "Support"} <= {q["name"] for q in desk.queues.list()}


def test_unicode_round_trips(desk: Desk) -> None:
    title = "Drucker brennt 🔥 — ошибка"
    tn = desk.tickets.create(title=title, body="ünïcödé ✓", customer="jörg@example.com")["tn"]
    shown = desk.tickets.show(tn)
    assert (shown["title"], shown["articles"][0]["body"], shown["customer"]) == (title, "ünïcödé ✓", "jörg@example.com")
