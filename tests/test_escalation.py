"""Escalations end to end with a controlled clock, the maintenance jobs, saved jobs and the Nagios check."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta, timezone
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import func, select

from tests.conftest import Cli, dump
from tktctl.api import Desk, UsageError
from tktctl.db.models import History, Notification

T0 = datetime(2026, 11, 23, 9, 0, tzinfo=timezone.utc)  # a Monday


class Clock:
    """A settable clock for Desk(clock=...)."""

    def __init__(self, start: datetime) -> None:
        self.now = start

    def __call__(self) -> datetime:
        return self.now

    def at(self, **delta: float) -> None:
        self.now = T0 + timedelta(**delta)


@pytest.fixture
def clock() -> Clock:
    return Clock(T0)


@pytest.fixture
def desk(db_url: str, clock: Clock) -> Iterator[Desk]:
    instance = Desk(db_url, clock=clock)
    yield instance
    instance.close()


def events(result: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(r["tn"], r["event"]) for r in result]


def history_types(desk: Desk, tn: str) -> list[str]:
    return [h["type"] for h in desk.tickets.history(tn)]


def test_lifecycle_first_response_fires_once_and_an_answer_clears_it(desk: Desk, clock: Clock) -> None:
    desk.queues.create("Tier 1", first_response_time=60, solution_time=120, first_response_notify=50)
    tn = desk.tickets.create(queue="Tier 1", title="printer", customer="a@example.com", body="help")["tn"]
    shown = desk.tickets.show(tn)["escalation"]
    assert shown["response"] == {
        "deadline": T0 + timedelta(minutes=60),
        "breached": False,
        "working_minutes_left": 60,
    }
    assert shown["update"] is None and shown["at"] == T0 + timedelta(minutes=60)

    clock.at(minutes=10)
    assert desk.escalations.run() == []  # nothing due yet
    clock.at(minutes=31)
    assert events(desk.escalations.run()) == [(tn, "EscalationResponseTimeNotifyBefore")]
    assert desk.escalations.run() == []
    clock.at(minutes=61)
    assert events(desk.escalations.run()) == [(tn, "EscalationResponseTimeStart")]
    clock.at(minutes=62)
    assert desk.escalations.run() == []  # a second run fires nothing
    breached = desk.tickets.show(tn)["escalation"]["response"]
    assert breached["breached"] is True and breached["working_minutes_left"] == -2
    assert history_types(desk, tn).count("EscalationResponseTimeStart") == 1

    clock.at(minutes=70)
    desk.tickets.note(tn, body="on it")  # an agent article visible to the customer: the first response
    assert desk.tickets.show(tn)["escalation"]["response"] is None

    clock.at(minutes=80)
    desk.tickets.close([tn])
    assert desk.tickets.show(tn)["escalation"] is None
    clock.at(minutes=90)
    desk.tickets.reopen([tn])
    assert desk.tickets.show(tn)["escalation"] is None  # solved once: no solution escalation again
    clock.at(days=3)
    assert desk.escalations.run() == []
    assert "EscalationSolutionTimeStart" not in history_types(desk, tn)


def test_repeat_only_after_the_decay_time(desk: Desk, clock: Clock) -> None:
    desk.queues.create("Q", first_response_time=10, escalation_decay=60)
    tn = desk.tickets.create(queue="Q", title="t")["tn"]
    clock.at(minutes=11)
    assert len(desk.escalations.run()) == 1
    clock.at(minutes=70)
    assert desk.escalations.run() == []
    clock.at(minutes=72)
    assert events(desk.escalations.run()) == [(tn, "EscalationResponseTimeStart")]


def test_queue_actions_raise_move_and_notify(desk: Desk, clock: Clock) -> None:
    desk.queues.create("Tier 2")
    desk.queues.create("Tier 1", first_response_time=30, escalate_raise=2, escalate_to="Tier 2", escalate_notify=True)
    tn = desk.tickets.create(queue="Tier 1", title="t", priority=4)["tn"]
    clock.at(minutes=31)
    (fired,) = desk.escalations.run()
    assert fired["actions"] == ["priority 4->5", "move to Tier 2", "notify"]
    ticket = desk.tickets.show(tn)
    assert (ticket["priority"], ticket["queue"], ticket["escalation"]) == (5, "Tier 2", None)
    assert {"EscalationResponseTimeStart", "PriorityUpdate", "Move"} <= set(history_types(desk, tn))
    with desk.read() as unit:
        notes = unit.session.execute(select(Notification.event, Notification.sent_at)).all()
    assert notes == [("EscalationResponseTimeStart", T0 + timedelta(minutes=31))]


def test_escalation_notifies_subscribed_agents_who_may_read_through_the_outbox(desk: Desk, clock: Clock) -> None:
    desk.queues.create("Tier 1", first_response_time=30, escalate_notify=True)
    for login in ("bob", "eve"):
        desk.agents.create(login, email=f"{login}@example.com")
        desk.acl.grant("ro", group="users", agent=login)
        desk.agents.subscribe(login, ["Tier 1"])
    desk.acl.revoke("ro", group="users", agent="eve")  # eve may no longer read Tier 1: not told
    tn = desk.tickets.create(queue="Tier 1", title="Printer on fire")["tn"]
    clock.at(minutes=31)
    desk.escalations.run()
    outbox = [(m["recipient"], m["subject"]) for m in desk.mail.outbox()]
    assert outbox == [
        ("bob@example.com", f"[Ticket#{tn}] NewTicket: Printer on fire"),
        ("bob@example.com", f"[Ticket#{tn}] EscalationResponseTimeStart: Printer on fire"),
    ]
    assert "SendAgentNotification" in history_types(desk, tn)


def test_dry_run_fires_nothing(desk: Desk, clock: Clock, db_url: str) -> None:
    desk.queues.create("Q", first_response_time=10)
    desk.tickets.create(queue="Q", title="t")
    clock.at(minutes=11)
    before = dump(db_url)
    assert len(desk.escalations.run(dry_run=True)) == 1
    assert dump(db_url) == before
    assert len(desk.escalations.run()) == 1


def test_update_clock_restarts_on_the_agent_answer_and_stops_when_pending(desk: Desk, clock: Clock) -> None:
    desk.queues.create("Q", update_time=60)
    tn = desk.tickets.create(queue="Q", title="t", body="customer writes")["tn"]
    assert desk.tickets.show(tn)["escalation"]["update"]["deadline"] == T0 + timedelta(minutes=60)
    clock.at(minutes=30)
    desk.tickets.note(tn, body="agent answers")
    assert desk.tickets.show(tn)["escalation"]["update"]["deadline"] == T0 + timedelta(minutes=90)
    desk.tickets.note(tn, body="internal", internal=True)  # invisible to the customer: no contact
    assert desk.tickets.show(tn)["escalation"]["update"]["deadline"] == T0 + timedelta(minutes=90)
    desk.tickets.set_state([tn], to="pending reminder", pending_until="+1d")
    assert desk.tickets.show(tn)["escalation"] is None
    clock.at(minutes=200)
    desk.tickets.set_state([tn], to="open")
    assert desk.tickets.show(tn)["escalation"]["update"]["deadline"] == T0 + timedelta(minutes=90)


def test_business_calendar_deadline_and_queue_change_recompute(desk: Desk, clock: Clock) -> None:
    desk.calendars.create("office", timezone="Europe/Berlin", hours=["mon-fri 09:00-17:00"])
    desk.queues.create("Q", first_response_time=120)
    clock.now = datetime(2026, 11, 27, 15, 0, tzinfo=timezone.utc)  # Friday 16:00 in Berlin
    tn = desk.tickets.create(queue="Q", title="t")["tn"]
    assert desk.tickets.show(tn)["escalation"]["response"]["deadline"] == clock.now + timedelta(hours=2)
    desk.queues.update("Q", calendar="office")  # recomputes the queue's running tickets
    # 1 h on Friday, then Monday 09:00-10:00 Berlin = 09:00Z.
    response = desk.tickets.show(tn)["escalation"]["response"]
    assert response["deadline"] == datetime(2026, 11, 30, 9, 0, tzinfo=timezone.utc)
    assert response["working_minutes_left"] == 120
    desk.calendars.update("office", add_holidays=["11-30"])
    assert desk.tickets.show(tn)["escalation"]["response"]["deadline"] == datetime(
        2026, 12, 1, 9, 0, tzinfo=timezone.utc
    )
    desk.queues.update("Q", first_response_time=None)
    assert desk.tickets.show(tn)["escalation"] is None


def test_moving_to_a_queue_with_another_sla_moves_the_deadline(desk: Desk) -> None:
    desk.queues.create("Fast", first_response_time=10)
    desk.queues.create("Slow", first_response_time=100)
    tn = desk.tickets.create(queue="Fast", title="t")["tn"]
    desk.tickets.move([tn], "Slow")
    assert desk.tickets.show(tn)["escalation"]["response"]["deadline"] == T0 + timedelta(minutes=100)


def test_check_escalations_nagios_codes(cli: Cli, desk: Desk, clock: Clock) -> None:
    desk.queues.create("Q", first_response_time=10)
    for i in range(3):
        desk.tickets.create(queue="Q", title=f"t{i}")
    # The CLI's clock is the real one: these tickets' deadlines (in 2026-11-23) have passed.
    ok = cli("check", "escalations", "--warn", "5", "--crit", "20", expect=0)
    assert ok.stdout.startswith("ESCALATIONS OK - 3 escalated tickets | escalated=3;5;20;0")
    assert cli("check", "escalations", "--warn", "2", "--crit", "20", expect=1).stdout.startswith("ESCALATIONS WARNING")
    assert cli("check", "escalations", "--warn", "1", "--crit", "2", expect=2).stdout.startswith("ESCALATIONS CRITICAL")


def test_check_escalations_unknown_when_the_database_is_not_usable(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    result = Cli(f"sqlite:///{tmp_path / 'nothing.db'}", monkeypatch)("check", "escalations", expect=3)
    assert result.stdout.startswith("ESCALATIONS UNKNOWN - database is not initialised")


def test_escalate_cli_json_and_queue_filter(cli: Cli, desk: Desk) -> None:
    desk.queues.create("A", first_response_time=1)
    desk.queues.create("B", first_response_time=1)
    a = desk.tickets.create(queue="A", title="a")["tn"]
    desk.tickets.create(queue="B", title="b")
    fired = cli("escalate", "--queue", "A", "-o", "json").json
    assert [(r["tn"], r["event"], r["queue"]) for r in fired] == [(a, "EscalationResponseTimeStart", "A")]
    assert len(cli("escalate", "-o", "json").json) == 1
    assert cli("escalate", "-o", "json").json == []
    assert cli("escalate", "--queue", "nope", expect=3)


# Maintenance ----------------------------------------------------------------------------


def test_maint_pending_closes_and_reminds_once(desk: Desk, clock: Clock) -> None:
    plus = desk.tickets.create(title="p", state="pending auto close+", pending_until=T0 + timedelta(hours=1))["tn"]
    minus = desk.tickets.create(title="m", state="pending auto close-", pending_until=T0 + timedelta(hours=1))["tn"]
    later = desk.tickets.create(title="l", state="pending auto close+", pending_until=T0 + timedelta(hours=5))["tn"]
    remind = desk.tickets.create(title="r", state="pending reminder", pending_until=T0 + timedelta(hours=1))["tn"]
    clock.at(hours=2)
    assert desk.maint.pending(dry_run=True)
    result = desk.maint.pending()
    assert sorted((r["tn"], r["action"], r["to"]) for r in result) == sorted(
        [
            (plus, "state", "closed successful"),
            (minus, "state", "closed unsuccessful"),
            (remind, "reminder", "2026-11-23T10:00:00Z"),
        ]
    )
    assert desk.tickets.show(later)["state"] == "pending auto close+"
    assert desk.maint.pending() == []  # the reminder is recorded once per pending time
    desk.tickets.set_state([remind], to="pending reminder", pending_until=T0 + timedelta(hours=3))
    clock.at(hours=4)
    assert [r["tn"] for r in desk.maint.pending() if r["action"] == "reminder"] == [remind]
    assert history_types(desk, remind).count("PendingReminder") == 2


def test_maint_unlock_timeout_counts_working_time(desk: Desk, clock: Clock) -> None:
    desk.calendars.create("office", timezone="UTC", hours=["mon-fri 09:00-17:00"])
    desk.queues.create("Q", unlock_timeout=60, calendar="office")
    desk.queues.create("Open", unlock_timeout=60)
    clock.now = datetime(2026, 11, 27, 16, 30, tzinfo=timezone.utc)  # Friday 16:30
    office = desk.tickets.create(queue="Q", title="o")["tn"]
    always = desk.tickets.create(queue="Open", title="a")["tn"]
    desk.tickets.lock([office, always])
    clock.now = datetime(2026, 11, 28, 12, 0, tzinfo=timezone.utc)  # Saturday: 30 working minutes passed
    assert [r["tn"] for r in desk.maint.unlock_timeout()] == [always]
    clock.now = datetime(2026, 11, 30, 9, 31, tzinfo=timezone.utc)  # Monday 09:31: 61 working minutes
    assert [r["tn"] for r in desk.maint.unlock_timeout()] == [office]
    assert desk.tickets.show(office)["lock"] == "unlocked"
    assert desk.maint.unlock_timeout() == []


# Saved jobs -----------------------------------------------------------------------------

JOB = """
name: raise-stale
filter: {queue: "Tier 1", state-type: [new, open], changed-before: 3d}
actions: {priority: "+1", move: "Tier 2", note: "raised by the stale-ticket job"}
"""


def test_job_from_file_and_saved(cli: Cli, desk: Desk, tmp_path: Path) -> None:
    desk.queues.create("Tier 1")
    desk.queues.create("Tier 2")
    stale = desk.tickets.create(queue="Tier 1", title="old")["tn"]  # created at T0, days before the CLI's now
    path = tmp_path / "raise.yaml"
    path.write_text(JOB)
    dry = cli("job", "run", str(path), "--dry-run", "-o", "json").json
    assert [(r["action"], r["from"], r["to"]) for r in dry] == [
        ("priority", 3, 4),
        ("move", "Tier 1", "Tier 2"),
        ("note", None, "raised by the stale-ticket job"),
    ]
    assert desk.tickets.show(stale)["queue"] == "Tier 1"
    assert cli("job", "apply", "-f", str(path), "-q").stdout == "raise-stale\n"
    assert cli("job", "show", "raise-stale", "-o", "json").json["actions"]["move"] == "Tier 2"
    assert len(cli("job", "run", "raise-stale", "-o", "json").json) == 3
    ticket = desk.tickets.show(stale)
    assert (ticket["priority"], ticket["queue"]) == (4, "Tier 2")
    assert cli("job", "run", "raise-stale", "-o", "json").json == []  # no longer matches
    assert [j["name"] for j in cli("job", "list", "-o", "json").json] == ["raise-stale"]
    cli("job", "run", "nope", expect=3)


@pytest.mark.parametrize(
    "document",
    [
        "name: x\nfilter: {queue: Raw}\nactions: {explode: yes}\n",
        "name: x\nfilter: {colour: red}\nactions: {priority: '+1'}\n",
        "name: x\nactions: {priority: 'urgent'}\n",
        "filter: {queue: Raw}\nactions: {priority: '+1'}\n",
        "- not a mapping\n",
        "name: x\nactions: {priority: '+1'}\n",
    ],
)
def test_bad_job_files_are_usage_errors_and_change_nothing(
    cli: Cli, db_url: str, tmp_path: Path, document: str
) -> None:
    path = tmp_path / "bad.yaml"
    path.write_text(document)
    before = dump(db_url)
    cli("job", "run", str(path), expect=2)
    cli("job", "apply", "-f", str(path), expect=2)
    assert dump(db_url) == before


def test_job_state_owner_lock(desk: Desk) -> None:
    desk.agents.create("bob")
    tn = desk.tickets.create(title="t")["tn"]
    job = {"name": "j", "filter": {"queue": "Raw"}, "actions": {"owner": "bob", "lock": "locked", "state": "open"}}
    result = desk.jobs.run(document=job)
    assert sorted(r["action"] for r in result) == ["lock", "owner", "state"]
    ticket = desk.tickets.show(tn)
    assert (ticket["owner"], ticket["lock"], ticket["state"]) == ("bob", "locked", "open")
    with pytest.raises(UsageError):
        desk.jobs.run(document={**job, "actions": {"lock": "maybe"}})


# Calendars ------------------------------------------------------------------------------


def test_calendar_cli_and_yaml(cli: Cli, tmp_path: Path) -> None:
    cal = cli(
        "calendar", "create", "office", "--timezone", "Europe/Berlin",
        "--hours", "mon-fri 09:00-12:00,13:00-17:00", "--hours", "sat 10:00-12:00",
        "--holiday", "12-25", "--holiday", "2026-04-03", "-o", "json",
    ).json  # fmt: skip
    assert cal["hours"]["sat"] == ["10:00-12:00"] and cal["holidays"] == ["12-25", "2026-04-03"]
    assert cli("calendar", "create", "office", expect=5).stderr == "tktctl: error: calendar 'office' already exists\n"
    assert cli("calendar", "create", "office", "--if-not-exists", "-o", "json").json == cal  # as it was
    cli("calendar", "create", "x", "--timezone", "Mars/Olympus", expect=2)
    cli("calendar", "create", "x", "--hours", "mon 17:00-09:00", expect=2)
    updated = cli("calendar", "update", "office", "--remove-holiday", "12-25", "--holiday", "01-01", "-o", "json").json
    assert updated["holidays"] == ["01-01", "2026-04-03"]
    path = tmp_path / "cal.yaml"
    path.write_text("name: support\ntimezone: America/New_York\nhours: {mon-fri: '08:00-18:00'}\nholidays: ['07-04']\n")
    assert cli("calendar", "apply", "-f", str(path), "-o", "json").json[0]["hours"]["fri"] == ["08:00-18:00"]
    assert cli("calendar", "apply", "-f", str(path), "-q").stdout == "support\n"  # rerunnable
    assert [c["name"] for c in cli("calendar", "list", "-o", "json").json] == ["office", "support"]
    assert cli("calendar", "show", "nope", expect=3)
    cli("queue", "update", "Raw", "--calendar", "nope", expect=3)


def test_ticket_without_sla_has_null_escalation(desk: Desk) -> None:
    tn = desk.tickets.create(title="t")["tn"]
    assert desk.tickets.show(tn)["escalation"] is None
    assert next(iter(desk.tickets.list()))["escalation"] is None


def test_create_writes_deadlines_only_where_they_apply_and_first_close_of_a_closed_start(
    desk: Desk, db_url: str
) -> None:
    # A create skips the deadline refresh where nothing applies; the columns must be what a refresh writes.
    desk.queues.create("Q", solution_time=60)
    timed = desk.tickets.create(queue="Q", title="sla")["tn"]
    plain = desk.tickets.create(title="no sla")["tn"]
    done = desk.tickets.create(title="closed at once", state="closed successful")["tn"]
    done_sla = desk.tickets.create(queue="Q", title="closed in Q", state="closed successful")["tn"]
    columns = _deadlines(db_url)
    assert columns[timed][DEADLINE_COLUMNS.index("escalation_solution_at")] is not None
    assert set(columns[plain]) == {None}
    for tn in (done, done_sla):
        first_closed = DEADLINE_COLUMNS.index("first_closed_at")
        assert columns[tn][first_closed] is not None
        assert set(columns[tn][:first_closed] + columns[tn][first_closed + 1 :]) == {None}


def test_due_history_and_counts_are_per_ticket(desk: Desk, clock: Clock) -> None:
    desk.queues.create("Q", first_response_time=5, update_time=5, solution_time=5)
    tns = [desk.tickets.create(queue="Q", title=f"t{i}")["tn"] for i in range(3)]
    clock.at(minutes=6)
    fired = desk.escalations.run()
    assert len(fired) == 9 and {tn for tn, _ in events(fired)} == set(tns)
    with desk.read() as unit:
        count = unit.session.scalar(select(func.count()).where(History.type.like("Escalation%")))
    assert count == 9


def test_queue_escalation_settings_from_yaml(cli: Cli, tmp_path: Path) -> None:
    path = tmp_path / "queues.yaml"
    path.write_text(
        "- {name: Tier 2}\n"
        "- name: Tier 1\n"
        "  first-response-time: 60\n"
        "  first-response-notify: 80\n"
        "  escalate-raise: 1\n"
        "  escalate-to: Tier 2\n"
        "  escalate-notify: true\n"
        "  escalation-decay: 720\n"
    )
    first = cli("queue", "apply", "-f", str(path), "-o", "json").json
    assert cli("queue", "apply", "-f", str(path), "-o", "json").json == first  # rerunnable
    tier1 = first[1]
    assert (tier1["escalate_to"], tier1["escalate_raise"], tier1["escalate_notify"]) == ("Tier 2", 1, True)
    assert (tier1["first_response_notify"], tier1["escalation_decay"]) == (80, 720)
    path.write_text("name: X\nfirst-response-time: soon\n")
    cli("queue", "apply", "-f", str(path), expect=2)
    cli("queue", "update", "Tier 1", "--first-response-notify", "150", expect=2)
    cli("queue", "update", "Tier 1", "--escalate-to", "nope", expect=3)
    cleared = cli("queue", "update", "Tier 1", "--clear", "escalate-to", "-o", "json").json
    assert cleared["escalate_to"] is None


# maint escalation-rebuild and the back-fill on upgrade ---------------------------------

DEADLINE_COLUMNS = (
    "escalation_response_at",
    "escalation_update_at",
    "escalation_solution_at",
    "escalation_at",
    "escalation_response_warn_at",
    "escalation_update_warn_at",
    "escalation_solution_warn_at",
    "escalation_check_at",
    "first_closed_at",
)


def _sql(desk: Desk, statement: str, **params: Any) -> None:
    """A change written straight into the database, past every service (a migration, a DBA's fix)."""
    from sqlalchemy import text

    with desk.engine.begin() as conn:
        conn.execute(text(statement), params)


def _rebuild_scene(desk: Desk, clock: Clock) -> dict[str, str]:
    """Tickets in an SLA queue: running, answered, pending, reopened and closed, created on the normal path."""
    desk.calendars.create("office", timezone="Europe/Berlin", hours=["mon-fri 09:00-17:00"])
    desk.queues.create("Q", first_response_time=60, update_time=120, solution_time=480, first_response_notify=50)
    tns = {name: desk.tickets.create(queue="Q", title=name, body="help")["tn"] for name in ("a", "b", "c", "d", "e")}
    clock.at(minutes=5)
    desk.tickets.note([tns["b"]], body="on it")
    desk.tickets.set_state([tns["c"]], to="pending reminder", pending_until="+1d")
    desk.tickets.close([tns["d"]])
    desk.tickets.reopen([tns["d"]])
    desk.tickets.close([tns["e"]])
    return tns


def _deadlines(db_url: str) -> dict[str, tuple[Any, ...]]:
    """Each ticket's escalation columns, by ticket number."""
    from sqlalchemy import create_engine, text

    engine = create_engine(db_url)
    try:
        with engine.connect() as conn:
            rows = conn.execute(text(f"SELECT tn, {', '.join(DEADLINE_COLUMNS)} FROM ticket")).all()
    finally:
        engine.dispose()
    return {row[0]: tuple(row[1:]) for row in rows}


def test_escalation_rebuild_restores_missing_and_stale_deadlines_and_leaves_closed_tickets(
    desk: Desk, clock: Clock, db_url: str
) -> None:
    tns = _rebuild_scene(desk, clock)
    # A deadline lost (as before migration 0003), then the SLA and calendar changed in SQL behind the program.
    _sql(
        desk, f"UPDATE ticket SET {', '.join(f'{c} = NULL' for c in DEADLINE_COLUMNS[:-1])} WHERE tn = :tn", tn=tns["a"]
    )
    _sql(desk, "UPDATE queue SET first_response_time = 30, solution_time = 240, calendar = 'office' WHERE name = 'Q'")
    _sql(desk, "UPDATE ticket SET escalation_at = NULL WHERE tn = :tn", tn=tns["e"])  # closed: left alone
    before, closed = dump(db_url), _deadlines(db_url)[tns["e"]]
    assert desk.maint.escalation_rebuild(dry_run=True) == {"tickets": 4, "changed": 4, "dry_run": True}
    assert dump(db_url) == before
    assert desk.maint.escalation_rebuild(batch_size=3) == {"tickets": 4, "changed": 4, "dry_run": False}
    rebuilt = _deadlines(db_url)
    after = dump(db_url)
    assert after["ticket_history"] == before["ticket_history"] and after["admin_audit"] == before["admin_audit"]
    assert rebuilt[tns["e"]] == closed
    # Monday 09:00Z is 10:00 in Berlin: 30 working minutes.
    assert desk.tickets.show(tns["a"])["escalation"]["response"]["deadline"] == T0 + timedelta(minutes=30)
    assert desk.tickets.show(tns["d"])["escalation"]["solution"] is None  # reopened: no second solution clock
    # Exactly what the normal path writes: recomputing the queue's tickets through it moves nothing.
    desk.queues.update("Q", first_response_time=30)
    assert _deadlines(db_url) == rebuilt
    assert desk.maint.escalation_rebuild() == {"tickets": 4, "changed": 0, "dry_run": False}


def test_escalation_rebuild_cli_is_admin_only_and_prints_a_summary_record(cli: Cli, desk: Desk, db_url: str) -> None:
    desk.queues.create("Q", first_response_time=60)
    tn = desk.tickets.create(queue="Q", title="t")["tn"]
    _sql(desk, "UPDATE ticket SET escalation_at = NULL, escalation_response_at = NULL WHERE tn = :tn", tn=tn)
    desk.agents.create("bob")
    desk.acl.grant("rw", group="users", agent="bob")
    before = dump(db_url)
    refused = cli("--as", "bob", "maint", "escalation-rebuild", expect=4)
    assert refused.stderr.strip().splitlines() == [
        "tktctl: error: permission denied: agent 'bob' needs 'rw' on group 'admin'"
    ]
    assert dump(db_url) == before
    dry = cli("maint", "escalation-rebuild", "--dry-run", "-o", "json")
    assert dry.json == {"tickets": 1, "changed": 1, "dry_run": True} and dump(db_url) == before
    assert cli("maint", "escalation-rebuild", "-o", "json").json == {"tickets": 1, "changed": 1, "dry_run": False}
    assert desk.tickets.show(tn)["escalation"]["response"]["deadline"] == T0 + timedelta(minutes=60)


def _downgrade(desk: Desk, revision: str) -> None:
    from alembic import command
    from alembic.config import Config

    from tktctl.db.migrate import MIGRATIONS

    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS))
    with desk.engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, revision)


def test_db_upgrade_back_fills_deadlines_of_tickets_older_than_0003(desk: Desk, clock: Clock, db_url: str) -> None:
    _rebuild_scene(desk, clock)
    expected = _deadlines(db_url)
    # As a desk migrated through 0003 to 0005 before the back-fill (0006) existed: no deadlines, no first close.
    _sql(desk, f"UPDATE ticket SET {', '.join(f'{c} = NULL' for c in DEADLINE_COLUMNS)}")
    _downgrade(desk, "0005")  # later revisions' tables go too, so that upgrading makes them again
    desk.close()
    upgraded = Desk(db_url, clock=clock)
    assert upgraded.upgrade()["up_to_date"] is True
    upgraded.close()
    # Running tickets get their deadlines back; the reopened and the closed one their first close (history).
    assert _deadlines(db_url) == expected


def test_a_create_writes_deadlines_only_when_it_has_some_to_write(desk: Desk) -> None:
    """One rule (deadlines._timed, FIRST_CLOSED) for a create and a refresh: a queue with an SLA, or a
    ticket closed from its start, costs the refresh's UPDATE; any other create none."""
    from sqlalchemy import event

    desk.queues.create("Timed", first_response_time=60)
    statements: list[str] = []
    event.listen(desk.engine, "before_cursor_execute", lambda conn, cursor, sql, *rest: statements.append(sql))

    def updates(**create: Any) -> int:
        statements.clear()
        desk.tickets.create(title="t", **create)
        return sum(s.lstrip().upper().startswith("UPDATE TICKET ") for s in statements)

    assert updates(queue="Raw") == 0
    assert updates(queue="Raw", state="closed successful") == 1  # its first close noted
    assert updates(queue="Timed") == 1
