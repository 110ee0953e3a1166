"""Who may run the desk-wide cron jobs, what the monitoring check counts, and who may be mailed
about a queue's tickets; on every backend."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.conftest import Cli, dump
from tktctl.api import Desk

PAST = datetime(2020, 1, 1, tzinfo=UTC)


def _overdue(db_url: str, queue: str) -> dict[str, str]:
    """Tickets of 2020 in ``queue`` (response time 1 minute, unlock timeout 1 minute), so every cron
    job has work: both escalate, one is pending auto close since 2020, one is locked ever since."""
    past = Desk(db_url, clock=lambda: PAST)
    pending = past.tickets.create(queue=queue, title="forgotten")["tn"]
    past.tickets.set_state([pending], to="pending auto close+", pending_until=datetime(2020, 1, 2, tzinfo=UTC))
    locked = past.tickets.create(queue=queue, title="held")["tn"]
    past.tickets.lock([locked])
    past.close()
    return {"pending": pending, "locked": locked}


@pytest.fixture
def ops(cli: Cli, db_url: str) -> dict[str, str]:
    """Queue Ops (group ops) with overdue tickets; bob holds rw on ops, nothing in admin."""
    cli("group", "create", "ops")
    cli("queue", "create", "Ops", "--group", "ops", "--first-response-time", "1", "--unlock-timeout", "1")
    cli("agent", "create", "bob")
    cli("acl", "grant", "rw", "--group", "ops", "--agent", "bob")
    return _overdue(db_url, "Ops")


# Each job, and which of the overdue tickets it acts on.
CRON_JOBS = [
    (("maint", "pending"), ["pending"]),
    (("maint", "pending", "--dry-run"), ["pending"]),
    (("maint", "unlock-timeout"), ["locked"]),
    (("escalate",), ["pending", "locked"]),
    (("escalate", "--queue", "Ops", "--dry-run"), ["pending", "locked"]),
]


@pytest.mark.parametrize(("job", "acts_on"), CRON_JOBS, ids=[" ".join(job) for job, _ in CRON_JOBS])
def test_cron_jobs_are_desk_wide_maintenance_for_admins(
    job: tuple[str, ...], acts_on: list[str], cli: Cli, db_url: str, ops: dict[str, str]
) -> None:
    """Even rw on every group of the due tickets is not enough: refused, nothing written or printed."""
    before = dump(db_url)
    refused = cli("--as", "bob", *job, "-o", "json", expect=4)
    assert refused.stdout == ""
    assert refused.error == {
        "code": "permission_denied",
        "message": "permission denied: agent 'bob' needs 'rw' on group 'admin'",
        "ref": "admin",
    }
    assert dump(db_url) == before
    cli("acl", "grant", "rw", "--group", "admin", "--agent", "bob")
    done = cli("--as", "bob", *job, "-o", "json").json
    assert sorted(r["tn"] for r in done) == sorted(ops[t] for t in acts_on)


def test_check_escalations_counts_only_the_tickets_the_agent_may_see(
    cli: Cli, db_url: str, ops: dict[str, str]
) -> None:
    cli("queue", "update", "Raw", "--first-response-time", "1")
    _overdue(db_url, "Raw")
    cli("acl", "revoke", "rw", "--group", "ops", "--agent", "bob")
    cli("acl", "grant", "ro", "--group", "users", "--agent", "bob")
    check = ("check", "escalations", "--warn", "5", "--crit", "20")
    assert "escalated=4;" in cli(*check).stdout
    assert cli("--as", "bob", *check).stdout == "ESCALATIONS OK - 2 escalated tickets | escalated=2;5;20;0\n"


def test_subscribing_needs_ro_and_a_revoked_grant_stops_the_mail(cli: Cli, db_url: str) -> None:
    cli("group", "create", "secret")
    cli("queue", "create", "Secret", "--group", "secret")
    cli("agent", "create", "bob", "--email", "bob@example.com")
    cli("acl", "grant", "ro", "--group", "users", "--agent", "bob")
    before = dump(db_url)
    for runner in ((), ("--as", "bob")):  # the admin for bob, or bob himself
        refused = cli(*runner, "agent", "subscribe", "bob", "--queue", "Raw", "--queue", "Secret", expect=4)
        assert refused.stderr == "tktctl: error: permission denied: agent 'bob' needs 'ro' on group 'secret'\n"
        assert dump(db_url) == before  # not even Raw
    cli("acl", "grant", "ro", "--group", "secret", "--agent", "bob")
    cli("--as", "bob", "agent", "subscribe", "bob", "--queue", "Secret")

    def mailed() -> list[str]:
        cli("ticket", "create", "--queue", "Secret", "--title", "t")
        return [m["recipient"] for m in cli("mail", "outbox", "-o", "json").json]

    assert mailed() == ["bob@example.com"]
    cli("acl", "revoke", "ro", "--group", "secret", "--agent", "bob")
    assert mailed() == ["bob@example.com"]  # the second ticket told nobody
    cli("--as", "bob", "agent", "unsubscribe", "bob", "--queue", "Secret")  # stopping needs no right
    assert cli("agent", "subscriptions", "bob", "-q").stdout == ""


def test_a_job_of_an_agent_who_is_not_admin_respects_others_locks(cli: Cli, db_url: str) -> None:
    """Only an administrator's job is the desk's own automation (the Generic Agent); bob's job may
    not take over carol's locked ticket, as `ticket assign` may not (exit 5, nothing written)."""
    for login in ("bob", "carol"):
        cli("agent", "create", login)
        cli("acl", "grant", "ro,owner,note", "--group", "users", "--agent", login)
    tn = cli("ticket", "create", "--title", "t", "-q").stdout.strip()
    cli("--as", "carol", "ticket", "lock", tn)
    job = "name: mine\nfilter: {queue: Raw}\nactions: {owner: bob, note: taken}\n"
    before = dump(db_url)
    refused = cli("--as", "bob", "job", "run", "-", input=job, expect=5)
    assert refused.stderr == (
        f"tktctl: error: ticket {tn} is locked by carol; take it over with `tktctl ticket lock --steal`\n"
    )
    assert dump(db_url) == before
    cli("--as", "bob", "ticket", "assign", tn, "--to", "bob", expect=5)
    cli("acl", "grant", "rw", "--group", "admin", "--agent", "bob")
    assert cli("--as", "bob", "job", "run", "-", "-o", "json", input=job).json[0]["to"] == "bob"


def test_db_copy_needs_admin(cli: Cli, tmp_path: Path) -> None:
    """It copies every ticket and password hash: refused before the target is even created."""
    target = tmp_path / "copy.db"
    cli("agent", "create", "bob")
    cli("acl", "grant", "rw", "--group", "users", "--agent", "bob")
    refused = cli("--as", "bob", "db", "copy", "--to", f"sqlite:///{target}", expect=4)
    assert refused.stderr == "tktctl: error: permission denied: agent 'bob' needs 'rw' on group 'admin'\n"
    assert not target.exists()
    cli("acl", "grant", "rw", "--group", "admin", "--agent", "bob")
    cli("--as", "bob", "db", "copy", "--to", f"sqlite:///{target}")


def test_saved_jobs_are_read_by_admins_only(cli: Cli) -> None:
    """A job holds ticket filters and actions (OTRS's Generic Agent is admin-only): bob, with rw on
    users, may not list or show one (exit 4, nothing printed), but may run it by name."""
    cli("job", "apply", "-f", "-", input="name: stale\nfilter: {queue: Raw}\nactions: {priority: '+1'}\n")
    cli("agent", "create", "bob")
    cli("acl", "grant", "rw", "--group", "users", "--agent", "bob")
    tn = cli("ticket", "create", "--title", "t", "-q").stdout.strip()
    for verb in (("list",), ("show", "stale")):
        refused = cli("--as", "bob", "job", *verb, "-o", "json", expect=4)
        assert refused.stdout == ""
        assert refused.error["message"] == "permission denied: agent 'bob' needs 'rw' on group 'admin'"
    assert [r["tn"] for r in cli("--as", "bob", "job", "run", "stale", "-o", "json").json] == [tn]
    cli("acl", "grant", "rw", "--group", "admin", "--agent", "bob")
    assert [j["name"] for j in cli("--as", "bob", "job", "list", "-o", "json").json] == ["stale"]
    assert cli("--as", "bob", "job", "show", "stale", "-o", "json").json["filter"] == {"queue": "Raw"}
