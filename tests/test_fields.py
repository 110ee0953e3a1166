"""Custom (dynamic) fields and time accounting, end to end on every backend."""

from __future__ import annotations

import json

import pytest

from tests.conftest import Cli, dump
from tktctl.api import ConflictError, Desk, NotFoundError, PermissionDeniedError, TicketFilter, UsageError


@pytest.fixture
def fields(cli: Cli) -> Cli:
    cli("field", "create", "env", "--type", "dropdown", "--values", "prod,test,dev", "--label", "Environment")
    cli("field", "create", "cost", "--type", "int")
    cli("field", "create", "due", "--type", "date")
    cli("field", "create", "at", "--type", "datetime")
    cli("field", "create", "tags", "--type", "multiselect", "--values", "a,b,c")
    cli("field", "create", "ok", "--type", "checkbox")
    cli("field", "create", "host", "--type", "text")
    cli("field", "create", "notes", "--type", "textarea")
    return cli


def tn_of(cli: Cli, *args: str) -> str:
    return cli("ticket", "create", "--title", "t", *args, "-q").stdout.strip()


def history(cli: Cli, tn: str, kind: str) -> list[dict[str, object]]:
    return [h["data"] for h in cli("ticket", "history", tn, "-o", "json").json if h["type"] == kind]


def test_field_admin_is_audited_and_validated(fields: Cli) -> None:
    cli = fields
    shown = cli("field", "show", "env", "-o", "json").json
    assert (shown["label"], shown["type"], shown["values"], shown["valid"]) == (
        "Environment",
        "dropdown",
        ["prod", "test", "dev"],
        True,
    )
    assert [f["name"] for f in cli("field", "list", "-o", "json").json] == sorted(
        ["env", "cost", "due", "at", "tags", "ok", "host", "notes"]
    )
    assert "already exists" in cli("field", "create", "env", "--type", "text", expect=5).stderr
    assert cli("field", "create", "env", "--type", "text", "--if-not-exists", "-o", "json").json["type"] == "dropdown"
    assert "letters and digits" in cli("field", "create", "bad-name", "--type", "text", expect=2).stderr
    assert "unknown field type" in cli("field", "create", "x", "--type", "colour", expect=2).stderr
    assert "needs --values" in cli("field", "create", "x", "--type", "dropdown", expect=2).stderr
    assert "--values goes with" in cli("field", "create", "x", "--type", "int", "--values", "1,2", expect=2).stderr
    cli("field", "show", "nope", expect=3)
    updated = cli("field", "update", "env", "--add-values", "stage", "--label", "Env", "-o", "json").json
    assert (updated["values"], updated["label"]) == (["prod", "test", "dev", "stage"], "Env")
    assert cli("field", "disable", "env", "-o", "json").json["valid"] is False
    audit = [(a["action"], a["object"], a["name"]) for a in cli("audit", "list", "-o", "json").json]
    assert ("create", "field", "env") in audit
    assert audit.count(("update", "field", "env")) == 2


def test_set_create_show_list_and_history(fields: Cli) -> None:
    cli = fields
    tn = tn_of(cli, "--set", "env=prod", "--set", "cost=12")
    ticket = cli("ticket", "show", tn, "-o", "json").json
    assert ticket["fields"] == {"cost": 12, "env": "prod"}
    assert history(cli, tn, "TicketDynamicFieldUpdate") == [
        {"field": "env", "from": None, "to": "prod"},
        {"field": "cost", "from": None, "to": "12"},
    ]
    out = cli(
        "ticket", "set", tn, "env=test", "cost=-3", "due=2026-12-24", "at=2026-12-01 10:00", "tags=c,a", "ok=yes",
        "host=web01", "notes=line one\nline two", "-o", "json",
    ).json  # fmt: skip
    assert out[0]["fields"] == {
        "at": "2026-12-01T10:00:00Z",
        "cost": -3,
        "due": "2026-12-24",
        "env": "test",
        "host": "web01",
        "notes": "line one\nline two",
        "ok": True,
        "tags": ["a", "c"],
    }
    assert {"field": "env", "from": "prod", "to": "test"} in history(cli, tn, "TicketDynamicFieldUpdate")
    # --fields field.NAME picks values out of the record, in every format
    listed = cli("ticket", "list", "--fields", "tn,field.env,field.tags", "-o", "json").json
    assert listed == [{"tn": tn, "field.env": "test", "field.tags": ["a", "c"]}]
    assert cli("ticket", "list", "--fields", "field.cost", "-o", "csv").stdout == "field.cost\n-3\n"
    # setting the same values again changes nothing and writes no history
    before = len(history(cli, tn, "TicketDynamicFieldUpdate"))
    again = cli("ticket", "set", tn, "--set", "env=test", "--set", "cost=-3", "-o", "json")
    assert json.loads(again.stderr)["summary"]["changed"] == 0
    assert len(history(cli, tn, "TicketDynamicFieldUpdate")) == before
    # FIELD= clears
    cli("ticket", "set", tn, "env=", "tags=")
    assert "env" not in cli("ticket", "show", tn, "-o", "json").json["fields"]
    assert {"field": "tags", "from": "a,c", "to": None} in history(cli, tn, "TicketDynamicFieldUpdate")


@pytest.mark.parametrize(
    ("assignment", "accepts"),
    [
        ("cost=12.5", "a whole number"),
        ("cost=99999999999999999999", "a whole number"),
        ("env=nope", "one of: prod, test, dev"),
        ("tags=a,z", "values of: a, b, c"),
        ("due=2026-02-30", "a date YYYY-MM-DD"),
        ("at=someday", "a time"),
        ("ok=maybe", "1 or 0"),
        ("host=a\nb", "one line of text"),
        ("host=" + "x" * 601, "at most 600"),
    ],
)
def test_a_bad_value_is_exit_2_naming_the_field_and_writes_nothing(fields: Cli, assignment: str, accepts: str) -> None:
    cli = fields
    tns = [tn_of(cli), tn_of(cli)]
    before = dump(cli.db_url)
    error = cli("ticket", "set", *tns, "env=prod", assignment, "-o", "json", expect=2).error
    name = assignment.split("=")[0]
    assert f"field {name}" in error["message"] and accepts in error["message"]
    assert dump(cli.db_url) == before
    # the same on create: no ticket
    cli("ticket", "create", "--title", "x", "--set", assignment, expect=2)
    assert dump(cli.db_url) == before


def test_unknown_and_disabled_fields(fields: Cli) -> None:
    cli = fields
    tn = tn_of(cli)
    cli("ticket", "set", tn, "colour=red", expect=3)
    cli("field", "disable", "host")
    assert "disabled" in cli("ticket", "set", tn, "host=x", expect=5).stderr
    assert "at least one" in cli("ticket", "set", tn, expect=2).stderr


def test_filters_equal_ranges_and_missing(fields: Cli) -> None:
    cli = fields
    a = tn_of(cli, "--set", "env=prod", "--set", "cost=5", "--set", "due=2026-01-10", "--set", "tags=a,b")
    b = tn_of(cli, "--set", "env=test", "--set", "cost=50", "--set", "due=2026-03-01", "--set", "ok=1")
    c = tn_of(cli)

    def ids(*args: str) -> list[str]:
        return cli("ticket", "list", *args, "-q").stdout.split()

    assert ids("--field", "env=prod") == [a]
    assert ids("--field", "env!=prod") == [b, c]
    assert ids("--field", "cost>5") == [b]
    assert ids("--field", "cost>=5") == [a, b]
    assert ids("--field", "cost<50", "--field", "env=prod") == [a]
    assert ids("--field", "due<2026-02-01") == [a]
    assert ids("--field", "tags=b") == [a]
    assert ids("--field", "ok=1") == [b]
    assert ids("--field", "env=") == [c]
    assert ids("--field", "env!=") == [a, b]
    assert cli("ticket", "count", "--field", "cost>1", "-o", "json").json == {"count": 2}
    assert [t["tn"] for t in cli("ticket", "export", "--field", "env=test", "-o", "json").json] == [b]
    stats = cli("stats", "--by", "queue", "--field", "env=prod", "-o", "json").json
    assert stats == [{"queue": "Raw", "count": 1, "time_units": 0}]
    assert "compares only with =" in cli("ticket", "list", "--field", "env>a", expect=2).stderr
    assert "expected NAME=VALUE" in cli("ticket", "list", "--field", "nonsense", expect=2).stderr
    cli("ticket", "list", "--field", "nope=1", expect=3)
    cli("ticket", "list", "--field", "cost>x", expect=2)
    # a filter on a field selects tickets for a bulk change, atomically, with --dry-run
    cli("ticket", "set", "--field", "env=prod", "--set", "env=dev", "--dry-run")
    assert ids("--field", "env=prod") == [a]
    cli("ticket", "set", "--field", "env=prod", "--set", "env=dev", "--set", "cost=7")
    assert ids("--field", "env=dev") == [a] and ids("--field", "cost=7") == [a]
    cli("ticket", "set", "--all", "--set", "ok=0")
    assert ids("--field", "ok=0") == [a, b, c]


def test_bulk_stdin_atomic_and_continue_on_error(fields: Cli, desk: Desk) -> None:
    cli = fields
    tns = [tn_of(cli) for _ in range(3)]
    cli("ticket", "set", "-", "--set", "env=dev", input="\n".join(tns) + "\n")
    assert cli("ticket", "count", "--field", "env=dev", "-q").stdout == "3\n"
    # atomic: one invisible/missing ticket fails all
    cli("ticket", "set", tns[0], "999", "env=prod", expect=3)
    assert cli("ticket", "count", "--field", "env=prod", "-q").stdout == "0\n"
    out = cli("ticket", "set", tns[0], "999", "env=prod", "--continue-on-error", "-o", "json", expect=7).json
    assert [o["ok"] for o in out] == [True, False]
    assert cli("ticket", "list", "--field", "env=prod", "-q").stdout.split() == [tns[0]]
    # the Python API
    desk.tickets.set_fields(TicketFilter(field=["env=dev"]), {"cost": 3})
    assert [t["fields"]["cost"] for t in desk.tickets.list(TicketFilter(field=["cost=3"]))] == [3, 3]
    with pytest.raises(UsageError):
        desk.tickets.set_fields([tns[0]], {"cost": "three"})
    with pytest.raises(NotFoundError):
        desk.tickets.set_fields([tns[0]], {"nope": "1"})
    created = desk.tickets.create(title="api", fields={"tags": ["a", "c"], "ok": True, "cost": 9})
    assert created["fields"] == {"cost": 9, "ok": True, "tags": ["a", "c"]}


def test_set_needs_rw_and_respects_locks(fields: Cli, desk: Desk) -> None:
    cli = fields
    tn = tn_of(cli)
    desk.agents.create("nina", name="Nina")
    desk.acl.grant("note", group="users", agent="nina")
    desk.acl.grant("ro", group="users", agent="nina")
    cli("--as", "nina", "ticket", "set", tn, "env=prod", expect=4)
    desk.acl.grant("rw", group="users", agent="nina")
    cli("ticket", "lock", tn)
    cli("--as", "nina", "ticket", "set", tn, "env=prod", expect=5)
    cli("ticket", "unlock", tn)
    cli("--as", "nina", "ticket", "set", tn, "env=prod")
    with pytest.raises(PermissionDeniedError):
        Desk(desk.url, actor="nina").fields.create("x", type="text")


def test_export_import_and_db_copy_keep_fields(fields: Cli, tmp_path: object) -> None:
    cli = fields
    tn = tn_of(cli, "--set", "env=prod", "--set", "tags=b,c", "--set", "due=2026-05-01")
    exported = cli("ticket", "export", "-o", "jsonl").stdout
    record = json.loads(exported)
    assert record["fields"] == {"due": "2026-05-01", "env": "prod", "tags": ["b", "c"]}
    # a new ticket from the record (no tn, no history: an agent's import)
    fresh = {k: record[k] for k in ("title", "queue", "fields")}
    out = cli("ticket", "import", "-", "--format", "jsonl", "-o", "json", input=json.dumps(fresh) + "\n").json
    new_tn = out[0]["tn"]
    assert cli("ticket", "show", new_tn, "-o", "json").json["fields"] == record["fields"]
    assert history(cli, new_tn, "TicketDynamicFieldUpdate")
    # --if-exists update changes fields through the verb's checks
    update = {"external_id": None, "tn": tn, "title": "t", "fields": {"env": "dev"}}
    cli("ticket", "import", "-", "--format", "jsonl", "--if-exists", "update", input=json.dumps(update) + "\n")
    assert cli("ticket", "show", tn, "-o", "json").json["fields"]["env"] == "dev"
    bad = {"title": "x", "fields": {"env": "nope"}}
    cli("ticket", "import", "-", "--format", "jsonl", input=json.dumps(bad) + "\n", expect=2)


def test_db_copy_carries_fields_and_time(fields: Cli, tmp_path: object) -> None:
    cli = fields
    tn = tn_of(cli, "--set", "env=prod")
    cli("ticket", "note", tn, "--body", "worked", "--time-units", "30")
    target = f"sqlite:///{tmp_path}/copy.db"  # type: ignore[str-format]
    rows = {r["table"]: r for r in cli("db", "copy", "--to", target, "-o", "json").json}
    assert rows["dynamic_field_value"]["rows"] == 1 and rows["time_accounting"]["rows"] == 1
    assert all(r["verified"] for r in rows.values())
    copied = Desk(target)
    try:
        assert copied.tickets.show(tn)["fields"] == {"env": "prod"}
        assert copied.time_accounting.of(tn)["time_units"] == 30
    finally:
        copied.close()


def test_time_accounting(fields: Cli) -> None:
    cli = fields
    a, b = tn_of(cli, "--queue", "Raw"), tn_of(cli, "--queue", "Misc")
    cli("ticket", "note", a, b, "--body", "first look", "--time-units", "15")
    cli("ticket", "note", a, "--body", "fixed", "--time-units", "7.5")
    cli("ticket", "note", a, "--body", "no time")
    spent = cli("ticket", "time", a, "-o", "json").json
    assert spent["tn"] == a and spent["time_units"] == 22.5
    assert [x["time_units"] for x in spent["articles"]] == [15, 7.5]
    shown = cli("ticket", "show", a, "-o", "json").json
    assert [x["id"] for x in shown["articles"][:2]] == [x["article"] for x in spent["articles"]]
    assert history(cli, a, "TimeAccounting") == [{"time_units": "15"}, {"time_units": "7.5"}]
    stats = cli("stats", "--by", "queue", "-o", "json").json
    assert stats == [{"queue": "Misc", "count": 1, "time_units": 15}, {"queue": "Raw", "count": 1, "time_units": 22.5}]
    for bad in ("0", "-5", "abc", "1.234", "nan"):
        cli("ticket", "note", a, "--body", "x", "--time-units", bad, expect=2)
    assert cli("ticket", "time", a, "-o", "json").json["time_units"] == 22.5
    cli("ticket", "time", "999", expect=3)


def test_field_value_in_use_cannot_be_removed(fields: Cli, desk: Desk) -> None:
    cli = fields
    tn_of(cli, "--set", "env=prod")
    assert "is set on tickets" in cli("field", "update", "env", "--values", "test,dev", expect=5).stderr
    assert cli("field", "update", "env", "--values", "prod,test", "-o", "json").json["values"] == ["prod", "test"]
    with pytest.raises(ConflictError):
        desk.fields.update("env", values=["test"])


def test_mail_headers_set_fields_on_new_tickets_and_follow_ups(fields: Cli, desk: Desk) -> None:
    message = (
        "From: alice@example.com\nTo: desk@example.com\nSubject: {subject}\nMessage-ID: <{mid}@example.com>\n"
        "{headers}\nhello\n"
    )
    headers = "X-OTRS-DynamicField-env: prod\nX-Tktctl-Field-Cost: 42\nX-OTRS-DynamicField-tags: nope\n"
    new = desk.mail.ingest(message.format(subject="disk full", mid="m1", headers=headers).encode())
    tn = new["ticket"]
    # the name matched in any case; a value the field does not accept is ignored, as OTRS does
    assert desk.tickets.show(tn)["fields"] == {"cost": 42, "env": "prod"}
    follow = "X-OTRS-FollowUp-DynamicField-env: test\nX-OTRS-DynamicField-cost: 7\n"
    desk.mail.ingest(message.format(subject=f"Re: [Ticket#{tn}] disk full", mid="m2", headers=follow).encode())
    # a follow-up takes the FollowUp- forms only (as X-OTRS-FollowUp-State)
    assert desk.tickets.show(tn)["fields"] == {"cost": 42, "env": "test"}
    kinds = [h["type"] for h in desk.tickets.history(tn)]
    assert kinds.count("TicketDynamicFieldUpdate") == 3
    # untrusted mail sets nothing
    untrusted = desk.mail.ingest(message.format(subject="x", mid="m3", headers=headers).encode(), untrusted=True)
    assert desk.tickets.show(untrusted["ticket"])["fields"] == {}


def test_saved_jobs_filter_on_and_set_fields(fields: Cli, desk: Desk) -> None:
    cli = fields
    a, b = tn_of(cli, "--set", "env=prod"), tn_of(cli, "--set", "env=test")
    job = "name: promote\nfilter: {field: ['env=test']}\nactions: {fields: {env: prod, tags: [a, b], cost: 5}}\n"
    cli("job", "apply", "-f", "-", input=job)
    done = cli("job", "run", "promote", "-o", "json").json
    assert {(r["tn"], r["action"], json.dumps(r["to"])) for r in done} == {
        (b, "field.env", '"prod"'),
        (b, "field.tags", '["a", "b"]'),
        (b, "field.cost", "5"),
    }
    assert cli("ticket", "list", "--field", "env=prod", "-q").stdout.split() == [a, b]
    assert cli("job", "run", "promote", "-o", "json").json == []  # nothing matches any more
    bad = "name: bad\nfilter: {queue: Raw}\nactions: {fields: {env: nope}}\n"
    cli("job", "run", "-", input=bad, expect=2)
    assert cli("ticket", "list", "--field", "env=nope", expect=2)


def test_desk_dump_and_apply_carry_fields(fields: Cli, desk: Desk) -> None:
    cli = fields
    document = cli("desk", "dump", "-o", "json").json
    env = next(f for f in document["fields"] if f["name"] == "env")
    assert (env["type"], env["values"], env["label"]) == ("dropdown", ["prod", "test", "dev"], "Environment")
    env["values"].append("stage")
    document["fields"] = [env, {"name": "region", "type": "text"}]
    changes = cli("desk", "apply", "-f", "-", "--prune", "-o", "json", input=json.dumps(document)).json
    assert {(c["kind"], c["name"], c["action"]) for c in changes if c["kind"] == "field"} >= {
        ("field", "env", "update"),
        ("field", "region", "create"),
        ("field", "cost", "update"),  # pruned: disabled, values kept
    }
    assert cli("field", "show", "cost", "-o", "json").json["valid"] is False
    assert cli("field", "show", "env", "-o", "json").json["values"][-1] == "stage"
    document["fields"] = [{"name": "env", "type": "text"}]
    assert "cannot change" in cli("desk", "apply", "-f", "-", input=json.dumps(document), expect=5).stderr


def test_list_streams_every_ticket_past_one_batch_with_fields(desk: Desk) -> None:
    """Regression (MySQL): the fields query ran while the list's streamed result was open, and PyMySQL
    dropped the rest of it: `ticket list` printed 1,000 of 2,500 tickets."""
    desk.queues.create("Bulk")
    desk.fields.create("env", type="text")
    desk.transfer.import_tickets([(i, {"title": f"t{i}", "queue": "Bulk"}) for i in range(1, 1201)])
    listed = list(desk.tickets.list(TicketFilter(queue="Bulk")))
    assert len(listed) == 1200 and all(t["fields"] == {} for t in listed)
