"""Render records as table, json, jsonl, yaml, csv, tsv or ids.

This package knows records (plain dicts) and nothing of the database. Lists arrive as
iterables and are written as they come, so ``jsonl`` and ``csv`` exports of a million rows
run in constant memory; only ``table`` (its widths) and ``yaml`` need the whole list.
"""

from __future__ import annotations

import csv
import itertools
import json
from collections.abc import Callable, Iterable, Iterator, Mapping
from datetime import date, datetime, tzinfo
from sys import intern
from typing import Any, TextIO

from tktctl.errors import UsageError
from tktctl.formats.kinds import Kind
from tktctl.isotime import iso
from tktctl.jsonenc import reusable_encoder
from tktctl.text import printable

CUSTOM = "field."  # --fields field.NAME
FORMATS = ("table", "json", "jsonl", "yaml", "csv", "tsv", "ids")
Record = Mapping[str, Any]


def check_format(fmt: str) -> str:
    if fmt not in FORMATS:
        raise UsageError(f"unknown output format {fmt!r}; choose one of {', '.join(FORMATS)}")
    return fmt


def select_fields(kind: Kind, fields: str | None, fmt: str) -> tuple[str, ...]:
    """The keys to emit: ``--fields`` validated against the kind, else the kind's default."""
    if not fields:
        return kind.table_keys if fmt == "table" else kind.keys
    chosen = tuple(f.strip() for f in fields.split(",") if f.strip())
    unknown = [f for f in chosen if f not in kind.keys and not _custom(kind, f)]
    if unknown or not chosen:
        raise UsageError(
            f"unknown field {', '.join(unknown) or '(none given)'} for {kind.name} records; "
            f"valid fields: {','.join(kind.keys)}" + (", field.NAME" if "fields" in kind.keys else "")
        )
    return chosen


def _custom(kind: Kind, key: str) -> bool:
    """``field.NAME``: a custom field's value, on records with ``fields``."""
    return "fields" in kind.keys and key.startswith(CUSTOM) and len(key) > len(CUSTOM)


def _json_default(value: Any) -> Any:
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, date):
        return value.isoformat()
    raise TypeError(f"cannot serialise {type(value).__name__}")


def _machine(value: Any) -> Any:
    """Times to strings, recursively, for YAML (JSON uses a default hook instead)."""
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, Mapping):
        return {k: _machine(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_machine(v) for v in value]
    return value


def _list_dumps() -> Callable[[Any], str]:
    """One encoder for the records of one list, spelling a time again only when it is another object.

    json.dumps would build an encoder per record (a jsonl export is millions). Consecutive
    times are often one object (the history rows of one change) or equal ones (a ticket not
    changed since it was created), and spelling a time costs more than encoding the rest of a
    history record. Equal aware times are one instant, spelled alike in UTC, unless they differ in
    ``fold``: two times of one zone compare as wall times, so the first and the second 02:30 of
    the night the clocks go back are equal, an hour apart.
    """
    last_value: Any = None
    last_text: Any = None

    def default(value: Any) -> Any:
        nonlocal last_value, last_text
        if value is not last_value:
            if type(value) is not datetime:
                last_text = _json_default(value)
            elif value != last_value or value.fold != last_value.fold:
                last_text = iso(value)
            last_value = value
        return last_text

    return reusable_encoder(default, ensure_ascii=False)


def _project(record: Record, keys: tuple[str, ...]) -> Record:
    """The record's ``keys`` in order; a dict that has exactly those already is used as it is."""
    if type(record) is dict and tuple(record) == keys:
        return record
    return {k: record.get(k) if k in record or not k.startswith(CUSTOM) else _field(record, k) for k in keys}


def _field(record: Record, key: str) -> Any:
    return (record.get("fields") or {}).get(key[len(CUSTOM) :])


def _cell(value: Any) -> str:
    """One flat cell for csv, tsv and table; nested values as compact JSON."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, datetime):
        return iso(value)
    if isinstance(value, (dict, list, tuple)):
        return json.dumps(value, default=_json_default, ensure_ascii=False, separators=(",", ":"))
    return str(value)


def _table_cell(value: Any, zone: tzinfo | None) -> str:
    """A cell for people: times in ``zone`` (None: the machine's) to the minute, control characters
    escaped (a subject's ESC [2J would clear the reader's screen)."""
    if isinstance(value, datetime):
        return value.astimezone(zone).strftime("%Y-%m-%d %H:%M")
    return printable(_cell(value))


def record(data: Record, *, kind: Kind, fmt: str, fields: str | None = None) -> Record:
    """One record with the keys :func:`render` writes of it in ``fmt`` (times still times): for a
    caller that puts it in a document of its own (`tktctl batch`'s result lines) instead of text."""
    return _project(data, select_fields(kind, fields, check_format(fmt)))


def json_text(row: Record) -> str:
    """A single record as ``-o json`` prints it."""
    return json.dumps(row, default=_json_default, ensure_ascii=False, indent=2) + "\n"


# One JSON line of any value, times in ISO 8601 (JSON lines that hold records, as batch's results).
json_line = reusable_encoder(_json_default, ensure_ascii=False)


def _started(rows: Iterator[Record]) -> Iterator[Record]:
    """``rows`` with the first one already produced, so that a query that fails (an unknown queue,
    an uninitialised database) fails before a header or ``[`` is written."""
    first = next(rows, None)
    return rows if first is None else itertools.chain((first,), rows)


def render(
    data: Record | Iterable[Record] | None,
    *,
    kind: Kind,
    fmt: str,
    out: TextIO,
    fields: str | None = None,
    zone: tzinfo | None = None,
) -> None:
    """Write ``data`` (one record, or an iterable of them) to ``out`` in ``fmt``.

    Nothing is written until the first record has come; after that, the streaming formats
    (json, jsonl, csv, tsv, ids) write each record as it comes. ``zone`` is the zone of the
    table's times (None: the machine's); machine formats write UTC.
    """
    keys = select_fields(kind, fields, check_format(fmt))
    single = isinstance(data, Mapping)
    records: Iterator[Record] = iter([data] if single else (data or []))  # type: ignore[list-item]
    records = _started(records)
    rows: Iterator[Record] = map(_project, records, itertools.repeat(keys))  # no generator frame per record
    if fmt == "json":
        if single:
            out.write(json_text(next(rows)))
        else:
            _write_json_array(rows, out)
    elif fmt == "jsonl":
        encode, write = _list_dumps(), out.write
        for row in rows:
            write(encode(row) + "\n")
    elif fmt == "yaml":
        value = next(rows) if single else [r for r in rows]
        _dump_yaml(_machine(value), out)
    elif fmt in ("csv", "tsv"):
        delimiter = "," if fmt == "csv" else "\t"
        writer = csv.writer(out, delimiter=delimiter, lineterminator="\n")
        # The writer quotes "\n" (its line terminator) but not a lone "\r", which readers take for
        # a line break; rows with one are written fully quoted.
        quoted = csv.writer(out, delimiter=delimiter, lineterminator="\n", quoting=csv.QUOTE_ALL)
        writer.writerow(keys)
        for row in rows:
            cells = [_cell(row[k]) for k in keys]
            (quoted if any("\r" in cell for cell in cells) else writer).writerow(cells)
    elif fmt == "ids":
        for record in records:
            out.write(f"{record[kind.id_key]}\n")
    else:
        _write_table(rows, keys, out, zone)


def _dump_yaml(value: Any, out: TextIO) -> None:
    import yaml

    class Dumper(yaml.SafeDumper):
        pass

    def represent_str(dumper: yaml.SafeDumper, text: str) -> yaml.Node:
        # With allow_unicode, PyYAML writes U+0085 (NEL) raw in a plain or single-quoted scalar,
        # where reading it back folds it into a space; double quotes escape it as \N.
        return dumper.represent_scalar("tag:yaml.org,2002:str", text, style='"' if "\x85" in text else None)

    Dumper.add_representer(str, represent_str)
    yaml.dump(value, out, Dumper=Dumper, sort_keys=False, allow_unicode=True)


def _write_json_array(rows: Iterator[Record], out: TextIO) -> None:
    """A JSON array written element by element, so a long list never sits in memory."""
    encode = _list_dumps()
    first = True
    out.write("[")
    for row in rows:
        out.write(("\n  " if first else ",\n  ") + encode(row))
        first = False
    out.write("\n]\n" if not first else "]\n")


def _write_table(rows: Iterator[Record], keys: tuple[str, ...], out: TextIO, zone: tzinfo | None) -> None:
    """tabulate's "simple" table, byte for byte (a test holds them equal), without its copies.

    A table cannot stream: its widths come from every row. The rows are kept once, as tuples
    of stripped cells, each text once (interned: a history repeats its ticket, types, agents and
    times in every row); through tabulate a history of 100,000 entries took 250 MB and 4 s.
    """
    body = [tuple(intern(_table_cell(row[k], zone).strip()) for k in keys) for row in rows]
    if not body:
        return
    # A column is as wide as its widest cell, and its header with two spaces to spare.
    widths = [
        max(len(key) + 2, max(map(len, column))) for key, column in zip(keys, zip(*body, strict=True), strict=True)
    ]
    out.write(_table_line(keys, widths) + "\n")
    out.write("  ".join("-" * width for width in widths) + "\n")
    for cells in body:
        out.write(_table_line(cells, widths) + "\n")


def _table_line(cells: tuple[str, ...], widths: list[int]) -> str:
    return "  ".join(cell.ljust(width) for cell, width in zip(cells, widths, strict=True)).rstrip()
