"""Access control through the command line: grants, roles, admin rights, acl check/list/apply/dump,
customers and their passwords, and the admin audit trail; on every backend."""

from __future__ import annotations

import time
from pathlib import Path

import pytest
import yaml

from tests.conftest import Cli, dump
from tktctl.api import Desk, PermissionDeniedError


def ticket(cli: Cli, queue: str = "Raw") -> str:
    return cli("ticket", "create", "--queue", queue, "--title", "t", "-q").stdout.strip()


@pytest.fixture
def bob(cli: Cli) -> Cli:
    cli("agent", "create", "bob")
    return cli


def test_root_may_do_everything_even_without_grants(cli: Cli) -> None:
    grants = cli("acl", "list", "--agent", "root@localhost", "-o", "json").json
    assert {(g["group"], g["permission"]) for g in grants} == {
        ("admin", "rw"),
        ("users", "rw"),
        ("stats", "rw"),
    }
    for group in ("admin", "users", "stats"):
        cli("acl", "revoke", "rw", "--group", group, "--agent", "root@localhost")
    tn = ticket(cli)
    cli("ticket", "close", tn)
    cli("queue", "create", "Tier 1")
    cli("acl", "check", "--perm", "rw", "--ticket", tn)


def test_new_agent_sees_nothing_and_changes_nothing(bob: Cli) -> None:
    tn = ticket(bob)
    assert bob("--as", "bob", "ticket", "list", "-q").stdout == ""
    assert bob("--as", "bob", "history", "export", "-q").stdout == ""
    bob("--as", "bob", "ticket", "show", tn, expect=3)
    bob("--as", "bob", "ticket", "create", "--title", "x", expect=4)


def test_owner_keeps_ro_on_his_ticket(bob: Cli) -> None:
    tn = ticket(bob)
    other = ticket(bob)
    bob("ticket", "assign", tn, "--to", "bob")
    assert bob("--as", "bob", "ticket", "list", "-q").stdout.split() == [tn]
    assert bob("--as", "bob", "ticket", "show", tn, "-o", "json").json["owner"] == "bob"
    bob("--as", "bob", "ticket", "history", tn)
    bob("--as", "bob", "ticket", "show", other, expect=3)
    assert {h["ticket"] for h in bob("--as", "bob", "history", "export", "-o", "json").json} == {tn}
    bob("--as", "bob", "ticket", "note", tn, "--body", "x", expect=4)  # ro only


def test_move_needs_move_into_on_target_and_ro_on_source(bob: Cli) -> None:
    bob("group", "create", "tier2")
    bob("queue", "create", "Tier 2", "--group", "tier2")
    tn = ticket(bob)
    bob("acl", "grant", "move_into", "--group", "tier2", "--agent", "bob")
    # Without ro on the source the ticket does not exist for bob: exit 3, as for a missing ticket.
    refused = bob("--as", "bob", "ticket", "move", tn, "--to", "Tier 2", expect=3)
    assert refused.stderr == f"tktctl: error: ticket {tn} not found\n"
    bob("acl", "grant", "ro", "--group", "users", "--agent", "bob")
    assert bob("--as", "bob", "ticket", "move", tn, "--to", "Tier 2", "-o", "json").json[0]["queue"] == "Tier 2"
    # Now in tier2, where bob holds only move_into: he may not see it any more.
    bob("--as", "bob", "ticket", "show", tn, expect=3)


def test_bulk_with_one_denied_ticket_changes_none_or_with_continue_all_others(bob: Cli) -> None:
    bob("group", "create", "vip")
    bob("queue", "create", "VIP", "--group", "vip")
    bob("acl", "grant", "ro,priority", "--group", "users", "--agent", "bob")
    bob("acl", "grant", "ro", "--group", "vip", "--agent", "bob")
    good = [ticket(bob), ticket(bob)]
    denied = ticket(bob, "VIP")
    before = dump(bob.db_url)
    result = bob("--as", "bob", "ticket", "prioritize", good[0], denied, good[1], "--to", "5", expect=4)
    assert "needs 'priority' on group 'vip'" in result.stderr
    assert dump(bob.db_url) == before
    outcome = bob(
        "--as", "bob", "ticket", "prioritize", good[0], denied, good[1], "--to", "5", "--continue-on-error",
        "-o", "json", expect=7,
    ).json  # fmt: skip
    assert [(o["tn"], o["ok"]) for o in outcome] == [(good[0], True), (denied, False), (good[1], True)]
    assert outcome[1]["error"]["code"] == "permission_denied"
    assert [bob("ticket", "show", tn, "-o", "json").json["priority"] for tn in (*good, denied)] == [5, 5, 3]


def test_disabled_group_role_or_agent_grants_nothing(bob: Cli) -> None:
    tn = ticket(bob)
    bob("role", "create", "readers")
    bob("role", "add-agent", "readers", "bob")
    bob("acl", "grant", "ro", "--group", "users", "--role", "readers")
    visible = lambda: bob("--as", "bob", "ticket", "list", "-q").stdout.split()  # noqa: E731
    assert visible() == [tn]
    bob("role", "disable", "readers")
    assert visible() == []
    bob("role", "enable", "readers")
    bob("group", "disable", "users")
    assert visible() == []
    bob("group", "enable", "users")
    bob("agent", "disable", "bob")
    assert "disabled" in bob("--as", "bob", "ticket", "list", expect=4).stderr
    bob("agent", "enable", "bob")
    assert visible() == [tn]
    bob("role", "remove-agent", "readers", "bob")
    assert visible() == []


def test_admin_is_rw_in_the_admin_group(bob: Cli) -> None:
    before = dump(bob.db_url)
    for args in (
        ("queue", "create", "Q"),
        ("group", "create", "g"),
        ("role", "create", "r"),
        ("agent", "create", "eve"),
        ("acl", "grant", "rw", "--group", "admin", "--agent", "bob"),
        ("customer", "create", "alice@example.com"),
        ("audit", "list"),
        ("acl", "dump"),
    ):
        error = bob("--as", "bob", *args, "-o", "json", expect=4).error
        assert error["message"] == "permission denied: agent 'bob' needs 'rw' on group 'admin'", args
    assert dump(bob.db_url) == before
    bob("acl", "grant", "ro", "--group", "admin", "--agent", "bob")
    bob("--as", "bob", "group", "create", "g", expect=4)
    bob("acl", "grant", "rw", "--group", "admin", "--agent", "bob")
    bob("--as", "bob", "group", "create", "g")
    bob("--as", "bob", "agent", "create", "eve")
    bob("--as", "bob", "acl", "grant", "ro", "--group", "g", "--agent", "eve")


def test_grant_revoke_are_rerunnable_and_list_says_where_rights_come_from(bob: Cli) -> None:
    bob("group", "create", "support", "--comment", "first line")
    bob("group", "create", "support", "--if-not-exists")
    bob("group", "create", "support", expect=5)
    bob("role", "create", "l1-agents")
    bob("role", "add-agent", "l1-agents", "bob")
    bob("role", "add-agent", "l1-agents", "bob")
    granted = bob("acl", "grant", "ro,note", "--group", "support", "--agent", "bob", "-o", "json").json
    assert [g["permission"] for g in granted] == ["ro", "note"]
    assert bob("acl", "grant", "note", "--group", "support", "--agent", "bob", "-o", "json").json == granted
    bob("acl", "grant", "owner", "--group", "support", "--role", "l1-agents")
    listed = bob("acl", "list", "--agent", "bob", "-o", "json").json
    assert [(g["group"], g["permission"], g["via"], g["role"]) for g in listed] == [
        ("support", "ro", "direct", None),
        ("support", "note", "direct", None),
        ("support", "owner", "role", "l1-agents"),
    ]
    assert bob("--as", "bob", "acl", "list", "--agent", "bob", "-o", "json").json == listed  # one's own rights
    bob("--as", "bob", "acl", "list", expect=4)
    by_group = bob("acl", "list", "--group", "support", "-o", "json").json
    assert {g["agent"] for g in by_group} == {"bob"}
    by_role = bob("acl", "list", "--role", "l1-agents", "-o", "json").json
    assert [(g["role"], g["permission"]) for g in by_role] == [("l1-agents", "owner")]
    remaining = bob("acl", "revoke", "ro,rw", "--group", "support", "--agent", "bob", "-o", "json").json
    assert [g["permission"] for g in remaining] == ["note"]
    bob("acl", "revoke", "ro", "--group", "support", "--agent", "bob")
    bob("acl", "grant", "sudo", "--group", "support", "--agent", "bob", expect=2)
    bob("acl", "grant", "ro", "--group", "nope", "--agent", "bob", expect=3)
    bob("acl", "grant", "ro", "--group", "support", "--agent", "bob", "--role", "l1-agents", expect=2)


def test_acl_check_exits_0_or_4_and_explains(bob: Cli) -> None:
    tn = ticket(bob)
    denied = bob("acl", "check", "--agent", "bob", "--ticket", tn, "--perm", "move_into", "-o", "json", expect=4)
    assert denied.json["allowed"] is False and denied.json["reason"] == "agent 'bob' needs 'move_into' on group 'users'"
    assert denied.error["code"] == "permission_denied"
    bob("role", "create", "movers")
    bob("role", "add-agent", "movers", "bob")
    bob("acl", "grant", "rw", "--group", "users", "--role", "movers")
    allowed = bob("acl", "check", "--agent", "bob", "--queue", "Raw", "--perm", "move_into", "-o", "json").json
    assert allowed["allowed"] is True and allowed["via"] == ["role movers: rw"]
    bob("acl", "check", "--agent", "bob", "--group", "users", "--perm", "teleport", expect=2)
    bob("role", "remove-agent", "movers", "bob")
    bob("ticket", "assign", tn, "--to", "bob")
    owner = bob("--as", "bob", "acl", "check", "--ticket", tn, "--perm", "ro", "-o", "json").json
    assert owner["allowed"] is True and "owner" in owner["reason"]
    bob("--as", "bob", "acl", "check", "--agent", "root@localhost", "--group", "users", "--perm", "ro", expect=4)


DESK_YAML = """
groups:
  support: {comment: First line support}
  billing: {}
roles:
  l1-agents:
    comment: Level 1
    agents: [bob, carol]
    grants: {support: [ro, note, owner], billing: ro}
agents:
  bob:
    grants: {billing: [rw]}
"""


def test_acl_apply_twice_changes_nothing_the_second_time(bob: Cli, tmp_path: Path) -> None:
    bob("agent", "create", "carol")
    path = tmp_path / "desk.yaml"
    path.write_text(DESK_YAML)
    before = dump(bob.db_url)
    preview = bob("acl", "apply", "-f", str(path), "--dry-run", "-o", "json")
    assert "dry run" in preview.stderr
    assert dump(bob.db_url) == before
    changes = bob("acl", "apply", "-f", str(path), "-o", "json").json
    assert changes == preview.json
    assert {(c["action"], c["object"], c["name"]) for c in changes} >= {
        ("create", "group", "support"),
        ("create", "role", "l1-agents"),
        ("add-agent", "role", "l1-agents"),
        ("grant", "agent", "bob"),
    }
    again = bob("acl", "apply", "-f", str(path), "--dry-run")
    assert (again.stdout, again.stderr.strip()) == ("", "nothing to do")
    assert bob("acl", "apply", "-f", str(path), "-o", "json").json == []
    carol = {(g["group"], g["permission"]) for g in bob("acl", "list", "--agent", "carol", "-o", "json").json}
    assert carol == {("support", "ro"), ("support", "note"), ("support", "owner"), ("billing", "ro")}
    bob("acl", "apply", "-f", "-", input="roles: {l1-agents: {agents: [nobody]}}", expect=3)
    bob("acl", "apply", "-f", "-", input="groups: [support]", expect=2)
    bob("acl", "apply", "-f", "-", input="roles: {x: {grants: {support: [fly]}}}", expect=2)
    bob("acl", "apply", "-f", str(tmp_path / "missing.yaml"), expect=2)


def test_acl_dump_applies_back_and_restores_a_changed_desk(bob: Cli) -> None:
    bob("agent", "create", "carol")
    bob("acl", "apply", "-f", "-", input=DESK_YAML)
    dumped = bob("acl", "dump", "-o", "yaml").stdout
    assert yaml.safe_load(dumped)["roles"]["l1-agents"]["agents"] == ["bob", "carol"]
    assert bob("acl", "apply", "-f", "-", "-o", "json", input=dumped).json == []
    bob("acl", "revoke", "rw", "--group", "billing", "--agent", "bob")
    bob("role", "remove-agent", "l1-agents", "carol")
    bob("role", "disable", "l1-agents")
    bob("group", "update", "support", "--clear-comment")
    restored = bob("acl", "apply", "-f", "-", "-o", "json", input=dumped).json
    assert [(c["action"], c["object"], c["name"]) for c in restored] == [
        ("update", "group", "support"),
        ("enable", "role", "l1-agents"),
        ("add-agent", "role", "l1-agents"),
        ("grant", "agent", "bob"),
    ]
    assert bob("acl", "dump", "-o", "yaml").stdout == dumped


def test_every_admin_change_is_audited_with_actor_and_time(bob: Cli) -> None:
    bob("acl", "grant", "rw", "--group", "admin", "--agent", "bob")
    bob("--as", "bob", "group", "create", "support")
    bob("--as", "bob", "group", "disable", "support")
    bob("--as", "bob", "group", "disable", "support")  # no change, no entry
    bob("--as", "bob", "agent", "passwd", "bob", "--password-stdin", input="s3cret-pw\n")
    bob("--as", "bob", "customer", "create", "alice@example.com", "--company", "ACME")
    bob("--as", "bob", "acl", "revoke", "ro", "--group", "admin", "--agent", "bob")  # not held: no entry
    entries = bob("audit", "list", "--actor", "bob", "-o", "json").json
    assert [(e["action"], e["object"], e["name"]) for e in entries] == [
        ("create", "group", "support"),
        ("disable", "group", "support"),
        ("passwd", "agent", "bob"),
        ("create", "customer", "alice@example.com"),
    ]
    assert all(e["actor"] == "bob" and e["at"].endswith("Z") for e in entries)
    everything = bob("audit", "list", "-o", "jsonl").jsonl
    assert [(e["action"], e["name"]) for e in everything[:2]] == [("create", "bob"), ("grant", "bob")]
    assert "s3cret-pw" not in str(dump(bob.db_url)) and "s3cret-pw" not in str(everything)
    assert bob("audit", "list", "--since", "+1h", "-q").stdout == ""
    assert bob("audit", "list", "--action", "grant", "--object", "agent", "-q").stdout.split() == [
        str(everything[1]["id"])
    ]
    bob("audit", "list", "--since", "today", "--until", "yesterday", expect=2)


def test_agent_update_disable_enable_and_passwd(bob: Cli) -> None:
    updated = bob("agent", "update", "bob", "--name", "Bob Ruiz", "--email", "bob@example.com", "-o", "json").json
    assert (updated["name"], updated["email"], updated["password_set"]) == ("Bob Ruiz", "bob@example.com", False)
    assert bob("agent", "disable", "bob", "-o", "json").json["valid"] is False
    assert bob("agent", "enable", "bob", "-o", "json").json["valid"] is True
    bob("agent", "passwd", "bob", expect=2)  # never from the command line
    bob("agent", "passwd", "bob", "--password-stdin", input="", expect=2)
    assert bob("agent", "passwd", "bob", "--password-stdin", "-o", "json", input="pw\n").json["password_set"] is True
    created = bob("agent", "create", "dan", "--password-stdin", "-o", "json", input="pw2\n").json
    assert created["password_set"] is True and "pw2" not in str(created)
    bob("agent", "disable", "root@localhost", expect=5)  # not oneself


def test_customers_create_list_update_disable(cli: Cli) -> None:
    created = cli("customer", "create", "alice@example.com", "--company", "ACME", "-o", "json").json
    assert (created["login"], created["email"], created["company"], created["valid"]) == (
        "alice@example.com",
        "alice@example.com",
        "ACME",
        True,
    )
    cli("customer", "create", "alice@example.com", expect=5)
    assert cli("customer", "create", "alice@example.com", "--if-not-exists", "-o", "json").json == created
    cli("customer", "create", "bob smith", expect=2)
    cli("customer", "create", "carl", "--company", "Other")
    assert cli("customer", "list", "--company", "ACME", "-q").stdout.split() == ["alice@example.com"]
    assert cli("customer", "update", "alice@example.com", "--company", "ACME Corp", "-o", "json").json["company"] == (
        "ACME Corp"
    )
    assert cli("customer", "disable", "alice@example.com", "-o", "json").json["valid"] is False
    cli("customer", "show", "nobody", expect=3)


def test_customer_auth(cli: Cli) -> None:
    cli("customer", "create", "alice@example.com", "--password-stdin", input="correct horse\n")
    cli("customer", "create", "nopass@example.com")
    ok = cli("customer", "auth", "alice@example.com", "--password-stdin", "-o", "json", input="correct horse\n")
    assert ok.json == {"login": "alice@example.com", "authenticated": True}
    messages = set()
    for login, password in (
        ("alice@example.com", "wrong horse"),
        ("nobody@example.com", "correct horse"),
        ("nopass@example.com", ""),
        ("nopass@example.com", "x"),
    ):
        result = cli("customer", "auth", login, "--password-stdin", input=password + "\n", expect=None)
        assert result.exit_code in (2, 4)
        if password:
            assert result.exit_code == 4 and result.stdout == ""
            messages.add(result.stderr)
    assert messages == {"tktctl: error: authentication failed\n"}
    cli("customer", "auth", "alice@example.com", expect=2)  # the password only from stdin
    cli("customer", "disable", "alice@example.com")
    cli("customer", "auth", "alice@example.com", "--password-stdin", input="correct horse\n", expect=4)
    cli("customer", "enable", "alice@example.com")
    cli("customer", "passwd", "alice@example.com", "--password-stdin", input="battery staple\n")
    cli("customer", "auth", "alice@example.com", "--password-stdin", input="correct horse\n", expect=4)
    cli("customer", "auth", "alice@example.com", "--password-stdin", input="battery staple\n")


@pytest.mark.backends("sqlite")
def test_unknown_customer_takes_as_long_as_a_wrong_password(desk: Desk) -> None:
    """Timing must not tell which logins exist: both paths run one scrypt of the same cost.

    Samples alternate between the two logins and the fastest of each is compared, so that a
    busy machine (other test runs) slows both alike; the tolerance is generous on purpose.
    """
    desk.customers.create("alice@example.com", password="correct horse")
    samples: dict[str, list[float]] = {"alice@example.com": [], "nobody@example.com": []}
    for _ in range(9):
        for login, times in samples.items():
            start = time.perf_counter()
            with pytest.raises(PermissionDeniedError, match=r"^authentication failed$"):
                desk.customers.auth(login, "wrong horse")
            times.append(time.perf_counter() - start)
    known, unknown = min(samples["alice@example.com"]), min(samples["nobody@example.com"])
    assert known > 0.005  # a slow hash, not a fast one
    assert 0.5 < unknown / known < 2.0, (known, unknown)


def test_every_customer_auth_path_costs_exactly_one_hash_of_the_same_cost(
    desk: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Counted, not timed: right and wrong password, unknown login, no password, disabled, a corrupt
    stored hash each derive once with N=2^14, r=8, p=1, also as a fresh process's first call."""
    import importlib

    from sqlalchemy import update

    from tktctl.access import passwords
    from tktctl.db.models import Customer

    importlib.reload(passwords)  # what a fresh process starts with: no dummy built yet
    desk.customers.create("alice@example.com", password="correct horse")
    desk.customers.create("nopass@example.com")
    desk.customers.create("gone@example.com", password="correct horse")
    desk.customers.set_valid("gone@example.com", False)
    desk.customers.create("corrupt@example.com", password="correct horse")
    with desk.write() as unit:
        unit.session.execute(
            update(Customer).where(Customer.login == "corrupt@example.com").values(password_hash="scrypt$bad")
        )
    derive = passwords._derive
    calls: list[tuple[int, int, int]] = []

    def spy(password: str, salt: bytes, n: int, r: int, p: int) -> bytes:
        calls.append((n, r, p))
        return derive(password, salt, n, r, p)

    monkeypatch.setattr(passwords, "_derive", spy)
    for login, password, ok in (
        ("nobody@example.com", "wrong horse", False),
        ("alice@example.com", "wrong horse", False),
        ("nopass@example.com", "x", False),
        ("gone@example.com", "correct horse", False),
        ("corrupt@example.com", "correct horse", False),
        ("alice@example.com", "correct horse", True),
    ):
        calls.clear()
        if ok:
            desk.customers.auth(login, password)
        else:
            with pytest.raises(PermissionDeniedError, match=r"^authentication failed$"):
                desk.customers.auth(login, password)
        assert calls == [(passwords.N, passwords.R, passwords.P)], login


def test_passwords_are_salted_scrypt_hashes() -> None:
    from tktctl.access import passwords

    first, second = passwords.hash_password("pw"), passwords.hash_password("pw")
    assert first != second and first.startswith("scrypt$16384$8$1$")
    assert passwords.verify("pw", first) and passwords.verify("pw", second)
    assert not passwords.verify("pw2", first)
    assert not passwords.verify("pw", None) and not passwords.verify("pw", "garbage")


@pytest.mark.backends("sqlite")
def test_rights_are_read_once_while_the_configuration_stands(desk: Desk) -> None:
    from sqlalchemy import event

    desk.agents.create("bob")
    desk.acl.grant("rw", group="users", agent="bob")
    tns = [desk.tickets.create(title=f"t{i}")["tn"] for i in range(30)]
    bob = Desk(desk.url, actor="bob")
    statements: list[str] = []
    event.listen(bob.engine, "before_cursor_execute", lambda conn, cursor, sql, *rest: statements.append(sql))
    bob.tickets.prioritize(tns, to=5)
    bob.tickets.close(tns)
    assert len(list(bob.tickets.list())) == 30
    # One query for three transactions (not per ticket, not per transaction): the process keeps them.
    assert sum("group_agent" in sql for sql in statements) == 1
    desk.acl.grant("ro", group="users", agent="bob")  # a change of configuration: read again
    assert len(list(bob.tickets.list())) == 30
    assert sum("group_agent" in sql for sql in statements) == 2
    bob.close()
