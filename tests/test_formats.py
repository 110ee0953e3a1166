"""Output formats: table, json, jsonl, yaml, csv, tsv and ids, for one record and for lists."""

from __future__ import annotations

import csv
import io
import json
import os
import time
from collections.abc import Iterator
from datetime import date, datetime, timedelta, timezone
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import yaml
from hypothesis import given
from hypothesis import strategies as st

from tktctl.errors import UsageError
from tktctl.formats import FORMATS, check_format, render, select_fields
from tktctl.formats.kinds import (
    AGENT,
    ARTICLE,
    CREATED_TICKET,
    DB_STATUS,
    HISTORY,
    INIT,
    OUTCOME,
    QUEUE,
    TICKET,
    TICKET_DETAIL,
    Kind,
)
from tktctl.isotime import iso

UTC = timezone.utc
BERLIN = ZoneInfo("Europe/Berlin")
THING = Kind(
    "thing",
    keys=("id", "name", "when", "meta", "flag", "note"),
    id_key="name",
    table_keys=("name", "when", "flag"),
)
ALPHA: dict[str, Any] = {
    "id": 1,
    "name": "alpha",
    "when": datetime(2026, 11, 27, 14, 0, tzinfo=BERLIN),  # 13:00 UTC
    "meta": {"tags": ["a", "ü"], "n": 2},
    "flag": True,
    "note": None,
}
BETA: dict[str, Any] = {
    "id": 2,
    "name": 'beta, "quoted"\nsecond line\tand a tab',
    "when": datetime(2026, 7, 1, 9, 15, 30, 250000, tzinfo=timezone(timedelta(hours=5, minutes=30))),
    "meta": [],
    "flag": False,
    "note": "",
}
ALPHA_MACHINE = {
    "id": 1,
    "name": "alpha",
    "when": "2026-11-27T13:00:00Z",
    "meta": {"tags": ["a", "ü"], "n": 2},
    "flag": True,
    "note": None,
}
BETA_MACHINE = {**BETA, "when": "2026-07-01T03:45:30.250000Z"}


def out_of(data: Any, fmt: str, *, kind: Kind = THING, fields: str | None = None) -> str:
    buffer = io.StringIO()
    render(data, kind=kind, fmt=fmt, out=buffer, fields=fields)
    return buffer.getvalue()


def read_delimited(text: str, fmt: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(text, newline=""), delimiter="," if fmt == "csv" else "\t"))


# --- format and field selection --------------------------------------------------------------


@pytest.mark.parametrize("fmt", FORMATS)
def test_check_format_accepts_every_format(fmt: str) -> None:
    assert check_format(fmt) == fmt


def test_formats_are_the_documented_seven() -> None:
    assert FORMATS == ("table", "json", "jsonl", "yaml", "csv", "tsv", "ids")


@pytest.mark.parametrize("fmt", ["xml", "JSON", "", "json ", "txt"])
def test_unknown_format(fmt: str) -> None:
    with pytest.raises(UsageError) as info:
        check_format(fmt)
    assert info.value.message == (
        f"unknown output format {fmt!r}; choose one of table, json, jsonl, yaml, csv, tsv, ids"
    )
    buffer = io.StringIO()
    with pytest.raises(UsageError):
        render([ALPHA], kind=THING, fmt=fmt, out=buffer)
    assert buffer.getvalue() == ""


def test_default_fields() -> None:
    assert select_fields(THING, None, "json") == THING.keys
    assert select_fields(THING, "", "csv") == THING.keys
    assert select_fields(THING, None, "table") == ("name", "when", "flag")
    assert select_fields(TICKET, None, "jsonl") == TICKET.keys
    assert select_fields(TICKET, None, "table") == TICKET.table_keys


def test_fields_select_and_order() -> None:
    assert select_fields(THING, "flag,id", "json") == ("flag", "id")
    assert select_fields(THING, " note , name ,", "table") == ("note", "name")
    assert select_fields(THING, "meta", "csv") == ("meta",)


@pytest.mark.parametrize(
    ("fields", "named"),
    [("id,bogus", "bogus"), ("nope,id,zip", "nope, zip"), ("ID", "ID"), (",", "(none given)"), (" , ", "(none given)")],
)
def test_unknown_fields_list_the_valid_ones(fields: str, named: str) -> None:
    with pytest.raises(UsageError) as info:
        select_fields(THING, fields, "json")
    assert info.value.message == (f"unknown field {named} for thing records; valid fields: id,name,when,meta,flag,note")
    with pytest.raises(UsageError, match="valid fields: id,name,when,meta,flag,note"):
        out_of([ALPHA], "csv", fields=fields)


@pytest.mark.parametrize(
    "kind", [TICKET, CREATED_TICKET, TICKET_DETAIL, ARTICLE, HISTORY, QUEUE, AGENT, OUTCOME, DB_STATUS, INIT]
)
def test_kinds_are_consistent(kind: Kind) -> None:
    assert len(set(kind.keys)) == len(kind.keys)
    assert kind.id_key in kind.keys
    assert set(kind.table_keys) <= set(kind.keys)
    # Every table column is a valid --fields value.
    assert select_fields(kind, ",".join(kind.table_keys), "json") == kind.table_keys


def test_derived_kinds_extend_their_base() -> None:
    assert CREATED_TICKET.keys == (*TICKET.keys, "created_now")
    assert TICKET_DETAIL.keys == (*TICKET.keys, "watchers", "articles", "links", "merged_into", "merged_from")
    assert INIT.keys == (*DB_STATUS.keys, "created")
    assert TICKET.id_key == "tn"
    assert QUEUE.id_key == "name"
    assert AGENT.id_key == "login"


# --- json ------------------------------------------------------------------------------------


def test_json_single_record_is_one_object() -> None:
    text = out_of(ALPHA, "json")
    value = json.loads(text)
    assert value == ALPHA_MACHINE
    assert list(value) == list(THING.keys)
    assert text.startswith('{\n  "id": 1,')
    assert text.endswith("}\n")
    assert "ü" in text  # not \u00fc


def test_json_list_is_one_array() -> None:
    text = out_of([ALPHA, BETA], "json")
    assert json.loads(text) == [ALPHA_MACHINE, BETA_MACHINE]
    assert text.startswith("[\n  {")
    assert text.endswith("}\n]\n")


def test_json_list_exact_text() -> None:
    text = out_of([ALPHA, BETA], "json", fields="id,flag,note")
    assert text == '[\n  {"id": 1, "flag": true, "note": null},\n  {"id": 2, "flag": false, "note": ""}\n]\n'


def test_json_list_of_one_is_still_an_array() -> None:
    assert json.loads(out_of([ALPHA], "json")) == [ALPHA_MACHINE]
    assert json.loads(out_of(iter([ALPHA]), "json")) == [ALPHA_MACHINE]


def test_json_fields_order_the_keys() -> None:
    value = json.loads(out_of(ALPHA, "json", fields="note,when,id"))
    assert list(value) == ["note", "when", "id"]
    assert value == {"note": None, "when": "2026-11-27T13:00:00Z", "id": 1}


def test_missing_keys_are_null_and_extra_keys_are_dropped() -> None:
    record = {"name": "gamma", "secret": "do not print"}
    value = json.loads(out_of(record, "json"))
    assert value == {"id": None, "name": "gamma", "when": None, "meta": None, "flag": None, "note": None}
    assert "secret" not in out_of([record], "csv")
    assert "secret" not in out_of([record], "yaml")


# --- jsonl -----------------------------------------------------------------------------------


def test_jsonl_one_object_per_line() -> None:
    text = out_of([ALPHA, BETA], "jsonl")
    lines = text.split("\n")
    assert lines[-1] == ""
    assert [json.loads(line) for line in lines[:-1]] == [ALPHA_MACHINE, BETA_MACHINE]
    # A newline inside a value is escaped, so each record stays on its line.
    assert len(lines) == 3


def test_jsonl_single_record() -> None:
    text = out_of(ALPHA, "jsonl")
    assert text.count("\n") == 1
    assert json.loads(text) == ALPHA_MACHINE


def test_jsonl_exact_text() -> None:
    assert out_of([ALPHA], "jsonl", fields="name,when,note") == (
        '{"name": "alpha", "when": "2026-11-27T13:00:00Z", "note": null}\n'
    )


def test_jsonl_times_in_a_display_zone_across_a_dst_change_are_spelled_as_the_slow_path() -> None:
    """The same-instant shortcut of the jsonl encoder, with times in a zone that is not UTC: the
    night clocks go back, 02:30 comes twice (fold 0, then 1: equal as Python compares one zone's
    times, an hour apart as instants), next to equal instants in other zones and a spring change."""
    berlin, new_york = ZoneInfo("Europe/Berlin"), ZoneInfo("America/New_York")
    autumn = datetime(2026, 10, 25, 2, 30, tzinfo=berlin)
    spring = datetime(2026, 3, 29, 1, 59, tzinfo=berlin)
    times = [
        autumn,
        autumn.replace(fold=1),
        autumn.replace(fold=1),
        autumn,
        autumn.astimezone(new_york),
        autumn.astimezone(timezone.utc),
        spring,
        spring + timedelta(minutes=1),  # 03:00, one minute of the instants later
        (spring + timedelta(minutes=1)).astimezone(timezone.utc),
    ]
    records = [{"id": n, "when": when} for n, when in enumerate(times)]
    buffer = io.StringIO()
    render(records, kind=THING, fmt="jsonl", out=buffer, fields="id,when", zone=berlin)
    slow = "".join(json.dumps({"id": r["id"], "when": iso(r["when"])}) + "\n" for r in records)
    assert buffer.getvalue() == slow
    assert [json.loads(line)["when"] for line in slow.splitlines()[:2]] == [
        "2026-10-25T00:30:00Z",
        "2026-10-25T01:30:00Z",
    ]


def test_jsonl_writes_each_record_before_the_next_is_produced() -> None:
    buffer = io.StringIO()
    produced = []

    def records() -> Iterator[dict[str, Any]]:
        produced.append(1)
        yield ALPHA
        assert buffer.getvalue() == '{"id": 1, "name": "alpha"}\n'
        produced.append(2)
        yield BETA
        assert buffer.getvalue().count("\n") == 2
        produced.append(3)

    render(records(), kind=THING, fmt="jsonl", out=buffer, fields="id,name")
    assert produced == [1, 2, 3]
    assert [json.loads(line)["id"] for line in buffer.getvalue().splitlines()] == [1, 2]


def test_jsonl_keeps_what_it_wrote_when_the_source_fails() -> None:
    def records() -> Iterator[dict[str, Any]]:
        yield from ({"id": n, "name": f"n{n}"} for n in range(3))
        raise RuntimeError("database went away")

    buffer = io.StringIO()
    with pytest.raises(RuntimeError, match="database went away"):
        render(records(), kind=THING, fmt="jsonl", out=buffer, fields="id")
    assert buffer.getvalue() == '{"id": 0}\n{"id": 1}\n{"id": 2}\n'


@pytest.mark.parametrize("fmt", ["json", "csv", "tsv", "ids"])
def test_other_streaming_formats_are_lazy_too(fmt: str) -> None:
    buffer = io.StringIO()

    def records() -> Iterator[dict[str, Any]]:
        yield ALPHA
        assert "alpha" in buffer.getvalue()
        yield BETA

    render(records(), kind=THING, fmt=fmt, out=buffer)
    assert "second line" in buffer.getvalue() or fmt == "ids"


# --- yaml ------------------------------------------------------------------------------------


def test_yaml_single_record_is_a_mapping() -> None:
    text = out_of(ALPHA, "yaml")
    assert yaml.safe_load(text) == ALPHA_MACHINE
    assert text.startswith("id: 1\nname: alpha\nwhen: '2026-11-27T13:00:00Z'\n")
    assert "ü" in text


def test_yaml_list_is_a_sequence() -> None:
    assert yaml.safe_load(out_of([ALPHA, BETA], "yaml")) == [ALPHA_MACHINE, BETA_MACHINE]
    assert yaml.safe_load(out_of(iter([ALPHA]), "yaml")) == [ALPHA_MACHINE]


def test_yaml_keeps_field_order() -> None:
    text = out_of(ALPHA, "yaml", fields="note,name")
    assert text == "note: null\nname: alpha\n"


def test_yaml_keeps_next_line_characters() -> None:
    # Regression: PyYAML (with allow_unicode) wrote U+0085 raw inside a quoted or plain scalar,
    # and reading it back folded it into a space; "…" in cp1252 mis-decoded as Latin-1 is U+0085.
    record = {"name": "wait\x85", "meta": {"a\x85b": ["\x85", "x\x85\ny"]}, "note": "\u2028 and \u2029"}
    text = out_of(record, "yaml", fields="name,meta,note")
    assert yaml.safe_load(text) == record
    assert yaml.safe_load(out_of([record, record], "yaml", fields="name,meta,note")) == [record, record]
    # Other strings keep PyYAML's ordinary, readable style.
    assert out_of({"name": "ü plain"}, "yaml", fields="name") == "name: ü plain\n"


def test_yaml_converts_nested_times() -> None:
    record = {"meta": {"at": [datetime(2026, 1, 1, 1, 0, tzinfo=BERLIN)], "day": date(2026, 1, 2)}}
    assert yaml.safe_load(out_of(record, "yaml", fields="meta")) == {
        "meta": {"at": ["2026-01-01T00:00:00Z"], "day": date(2026, 1, 2)}
    }


# --- csv and tsv -----------------------------------------------------------------------------


def test_csv_exact_text() -> None:
    assert out_of([ALPHA], "csv") == (
        'id,name,when,meta,flag,note\n1,alpha,2026-11-27T13:00:00Z,"{""tags"":[""a"",""ü""],""n"":2}",true,\n'
    )


def test_tsv_exact_text() -> None:
    assert out_of([ALPHA], "tsv", fields="id,name,flag,note,when") == (
        "id\tname\tflag\tnote\twhen\n1\talpha\ttrue\t\t2026-11-27T13:00:00Z\n"
    )


@pytest.mark.parametrize("fmt", ["csv", "tsv"])
def test_delimited_cells(fmt: str) -> None:
    rows = read_delimited(out_of([ALPHA, BETA], fmt), fmt)
    assert rows == [
        list(THING.keys),
        ["1", "alpha", "2026-11-27T13:00:00Z", '{"tags":["a","ü"],"n":2}', "true", ""],
        ["2", BETA["name"], "2026-07-01T03:45:30.250000Z", "[]", "false", ""],
    ]


@pytest.mark.parametrize("fmt", ["csv", "tsv"])
def test_delimited_single_record_has_header_and_one_row(fmt: str) -> None:
    rows = read_delimited(out_of(ALPHA, fmt, fields="name,id"), fmt)
    assert rows == [["name", "id"], ["alpha", "1"]]


@pytest.mark.parametrize("fmt", ["csv", "tsv"])
def test_carriage_returns_survive_csv(fmt: str) -> None:
    # Regression: Python's csv writer quotes a field with "\n" (the line terminator) but not one
    # with a lone "\r", which a reader then takes for a line break: the row fell apart.
    notes = ["a\rb", "windows\r\nline", "\r", "trailing\r", "plain"]
    text = out_of([{"id": n, "note": note} for n, note in enumerate(notes)], fmt, fields="id,note")
    assert read_delimited(text, fmt) == [["id", "note"]] + [[str(n), note] for n, note in enumerate(notes)]
    # Rows without a carriage return are written as before, quoted only where needed.
    assert text.endswith("\n4" + ("," if fmt == "csv" else "\t") + "plain\n")


def test_nested_values_in_csv_are_compact_json() -> None:
    record = {
        "meta": {"b": [1, {"c": None}], "when": datetime(2026, 1, 1, tzinfo=UTC), "t": True, "s": 'x, "y"'},
    }
    (cell,) = read_delimited(out_of(record, "csv", fields="meta"), "csv")[1]
    assert cell == '{"b":[1,{"c":null}],"when":"2026-01-01T00:00:00Z","t":true,"s":"x, \\"y\\""}'
    assert json.loads(cell) == {"b": [1, {"c": None}], "when": "2026-01-01T00:00:00Z", "t": True, "s": 'x, "y"'}


# --- ids -------------------------------------------------------------------------------------


def test_ids() -> None:
    assert out_of([ALPHA, {"name": "gamma"}], "ids") == "alpha\ngamma\n"
    assert out_of(ALPHA, "ids") == "alpha\n"
    # --fields does not change what -o ids prints.
    assert out_of([ALPHA], "ids", fields="id") == "alpha\n"
    assert out_of([{"tn": "2026112710000013", "title": "x"}], "ids", kind=TICKET) == "2026112710000013\n"


# --- table -----------------------------------------------------------------------------------


@pytest.fixture
def kolkata_local_time() -> Iterator[None]:
    """The machine's zone as tables show it, set and restored around one test."""
    before = os.environ.get("TZ")
    os.environ["TZ"] = "Asia/Kolkata"
    time.tzset()
    try:
        yield
    finally:
        if before is None:
            del os.environ["TZ"]
        else:
            os.environ["TZ"] = before
        time.tzset()


def _table(text: str) -> list[list[str]]:
    import re

    return [re.split(r"\s{2,}", line.strip()) for line in text.splitlines()]


@pytest.mark.usefixtures("kolkata_local_time")
def test_table_uses_table_keys_and_local_times() -> None:
    text = out_of([ALPHA, BETA], "table")
    lines = text.splitlines()
    assert _table(text)[0] == ["name", "when", "flag"]
    assert set(lines[1]) <= {"-", " "}
    # Times in the machine's zone, to the minute: 13:00 UTC is 18:30 in Kolkata.
    assert _table(text)[2] == ["alpha", "2026-11-27 18:30", "true"]
    assert "2026-07-01 09:15" in text
    assert "false" in text
    assert text.endswith("\n")


@pytest.mark.usefixtures("kolkata_local_time")
def test_table_single_record_and_fields() -> None:
    text = out_of(ALPHA, "table", fields="id,note,meta")
    rows = _table(text)
    assert rows[0] == ["id", "note", "meta"]
    assert len(rows) == 3
    assert rows[2][0] == "1"
    assert rows[2][-1] == '{"tags":["a","ü"],"n":2}'


def test_table_does_not_turn_number_like_text_into_numbers() -> None:
    text = out_of([{"name": "007", "flag": None, "when": None}, {"name": "1e3"}], "table")
    assert _table(text)[2] == ["007"]
    assert _table(text)[3] == ["1e3"]


# --- empty input -----------------------------------------------------------------------------


@pytest.mark.parametrize("empty", [[], (), None, iter([])], ids=["list", "tuple", "None", "iterator"])
@pytest.mark.parametrize(
    ("fmt", "expected"),
    [
        ("json", "[]\n"),
        ("jsonl", ""),
        ("ids", ""),
        ("csv", "id,name,when,meta,flag,note\n"),
        ("tsv", "id\tname\twhen\tmeta\tflag\tnote\n"),
        ("yaml", "[]\n"),
        ("table", ""),
    ],
)
def test_empty_list(empty: Any, fmt: str, expected: str) -> None:
    assert out_of(empty, fmt) == expected


def test_empty_list_csv_with_fields_is_that_header() -> None:
    assert out_of([], "csv", fields="flag,name") == "flag,name\n"


# --- times -----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (datetime(2026, 11, 27, 14, 0, tzinfo=BERLIN), "2026-11-27T13:00:00Z"),
        (datetime(2026, 7, 27, 14, 0, tzinfo=BERLIN), "2026-07-27T12:00:00Z"),
        (datetime(2026, 11, 27, 14, 0, tzinfo=timezone(timedelta(hours=-8))), "2026-11-27T22:00:00Z"),
        (
            datetime(2026, 11, 27, 23, 59, 59, 999999, tzinfo=timezone(timedelta(hours=-1))),
            "2026-11-28T00:59:59.999999Z",
        ),
        (datetime(2026, 11, 27, 14, 0, tzinfo=UTC), "2026-11-27T14:00:00Z"),
        (datetime(2026, 11, 27, 14, 0, 0, 250000, tzinfo=UTC), "2026-11-27T14:00:00.250000Z"),
        (datetime(999, 1, 2, 3, 4, 5, 6, tzinfo=UTC), "0999-01-02T03:04:05.000006Z"),
        # Naive times are taken to be UTC already.
        (datetime(2026, 11, 27, 14, 0), "2026-11-27T14:00:00Z"),
        (datetime(2026, 11, 27, 14, 0, 0, 1), "2026-11-27T14:00:00.000001Z"),
    ],
)
@pytest.mark.parametrize("fmt", ["json", "jsonl", "yaml", "csv", "tsv"])
def test_times_are_iso_utc_with_z(value: datetime, expected: str, fmt: str) -> None:
    text = out_of([{"when": value}], fmt, fields="when")
    if fmt == "json":
        assert json.loads(text) == [{"when": expected}]
    elif fmt == "jsonl":
        assert json.loads(text) == {"when": expected}
    elif fmt == "yaml":
        assert yaml.safe_load(text) == [{"when": expected}]
    else:
        assert read_delimited(text, fmt) == [["when"], [expected]]
    assert "+00:00" not in text


@pytest.mark.parametrize("fmt", ["json", "jsonl"])
def test_records_sharing_a_time_object_and_others_each_get_their_own_time(fmt: str) -> None:
    shared = datetime(2026, 11, 27, 14, 0, tzinfo=UTC)
    rows = [
        {"when": shared},
        {"when": shared},
        {"when": datetime(2026, 11, 27, 14, 0, 0, 1, tzinfo=BERLIN)},
        {"when": shared},
        {"when": date(2026, 1, 2)},
        {"when": datetime(2026, 11, 27, 14, 0)},
    ]
    text = out_of(rows, fmt, fields="when")
    parsed = json.loads(text) if fmt == "json" else [json.loads(line) for line in text.splitlines()]
    assert [r["when"] for r in parsed] == [
        "2026-11-27T14:00:00Z",
        "2026-11-27T14:00:00Z",
        "2026-11-27T13:00:00.000001Z",
        "2026-11-27T14:00:00Z",
        "2026-01-02",
        "2026-11-27T14:00:00Z",
    ]


def test_json_handles_dates_and_refuses_unknown_types() -> None:
    nested = {"d": date(2026, 11, 27), "t": datetime(2026, 1, 1, tzinfo=BERLIN)}
    assert out_of([{"meta": nested}], "jsonl", fields="meta") == (
        '{"meta": {"d": "2026-11-27", "t": "2025-12-31T23:00:00Z"}}\n'
    )
    with pytest.raises(TypeError, match="cannot serialise set"):
        out_of([{"meta": {1}}], "jsonl", fields="meta")


# --- properties ------------------------------------------------------------------------------

texts = st.text() | st.text(alphabet=",;\"'\n\r\t \\:#-{}[]&*!|>%@`?~=ü€😀\x85\u2028\ufeffabc0123", max_size=20)
times = st.datetimes(
    min_value=datetime(1900, 1, 1), max_value=datetime(2200, 1, 1), timezones=st.none() | st.timezones()
)
scalars = st.none() | st.booleans() | st.integers(-(2**63), 2**63) | texts | times
values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4),
    max_leaves=12,
)
records = st.fixed_dictionaries({}, optional={key: values for key in THING.keys})
field_choices = st.none() | st.lists(st.sampled_from(THING.keys), min_size=1, max_size=6, unique=True).map(",".join)


def iso_z(value: datetime) -> str:
    """The documented spelling, written out independently of tktctl.isotime."""
    u = (value if value.tzinfo else value.replace(tzinfo=UTC)).astimezone(UTC)
    fraction = f".{u.microsecond:06d}" if u.microsecond else ""
    return f"{u.year:04d}-{u.month:02d}-{u.day:02d}T{u.hour:02d}:{u.minute:02d}:{u.second:02d}{fraction}Z"


def machine(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso_z(value)
    if isinstance(value, dict):
        return {k: machine(v) for k, v in value.items()}
    if isinstance(value, list):
        return [machine(v) for v in value]
    return value


def documented_cell(value: Any) -> str:
    """csv/tsv cells: None empty, booleans true/false, times ISO UTC, nested values compact JSON."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return iso_z(value)
    if isinstance(value, (dict, list)):
        return json.dumps(machine(value), ensure_ascii=False, separators=(",", ":"))
    return str(value)


def keys_for(fields: str | None) -> tuple[str, ...]:
    return tuple(fields.split(",")) if fields else THING.keys


def expected_records(data: list[dict[str, Any]], fields: str | None) -> list[dict[str, Any]]:
    return [{k: machine(r.get(k)) for k in keys_for(fields)} for r in data]


@given(st.lists(records, max_size=5), field_choices)
def test_json_round_trips(data: list[dict[str, Any]], fields: str | None) -> None:
    assert json.loads(out_of(data, "json", fields=fields)) == expected_records(data, fields)
    assert json.loads(out_of(iter(data), "json", fields=fields)) == expected_records(data, fields)


@given(records, field_choices)
def test_json_single_round_trips(record: dict[str, Any], fields: str | None) -> None:
    assert json.loads(out_of(record, "json", fields=fields)) == expected_records([record], fields)[0]


@given(st.lists(records, max_size=5), field_choices)
def test_jsonl_round_trips(data: list[dict[str, Any]], fields: str | None) -> None:
    text = out_of(data, "jsonl", fields=fields)
    assert text.count("\n") == len(data)
    assert [json.loads(line) for line in text.split("\n")[:-1]] == expected_records(data, fields)


@given(st.lists(records, max_size=5), field_choices)
def test_yaml_round_trips(data: list[dict[str, Any]], fields: str | None) -> None:
    assert yaml.safe_load(out_of(data, "yaml", fields=fields)) == expected_records(data, fields)


@given(records, field_choices)
def test_yaml_single_round_trips(record: dict[str, Any], fields: str | None) -> None:
    assert yaml.safe_load(out_of(record, "yaml", fields=fields)) == expected_records([record], fields)[0]


@given(st.lists(records, max_size=5), field_choices, st.sampled_from(["csv", "tsv"]))
def test_delimited_round_trips(data: list[dict[str, Any]], fields: str | None, fmt: str) -> None:
    keys = keys_for(fields)
    rows = read_delimited(out_of(data, fmt, fields=fields), fmt)
    assert rows == [list(keys)] + [[documented_cell(r.get(k)) for k in keys] for r in data]


@given(st.lists(records, max_size=5))
def test_ids_round_trip(data: list[dict[str, Any]]) -> None:
    named = [{**r, "name": f"n{i}"} for i, r in enumerate(data)]
    assert out_of(named, "ids").splitlines() == [f"n{i}" for i in range(len(data))]


json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**80), max_value=2**80)
    | st.floats()
    | st.text()
    | st.datetimes(timezones=st.none() | st.just(timezone.utc) | st.just(ZoneInfo("Europe/Berlin")))
    | st.dates(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)


@given(st.lists(st.dictionaries(st.text(max_size=8), json_values, max_size=6), max_size=4), st.booleans())
def test_reusable_encoder_writes_what_jsonencoder_writes(values: list[dict[str, Any]], ascii_only: bool) -> None:
    """The C encoder made once spells every value as JSONEncoder.encode (and json.dumps) does."""
    from tktctl.formats import _json_default
    from tktctl.jsonenc import reusable_encoder

    fast = reusable_encoder(_json_default, ensure_ascii=ascii_only)
    plain = reusable_encoder(_json_default, ensure_ascii=ascii_only, accelerated=False)
    assert [fast(v) for v in values] == [plain(v) for v in values]
    if ascii_only:
        assert [fast(v) for v in values] == [json.dumps(v, default=_json_default) for v in values]
