"""What an import keeps between its passes, on disk instead of in memory.

Import checks every record before it writes the first (the atomic contract), so whatever
the check makes must wait for the write. Held in memory that was every checked row and
every outcome: 1.9 GB for a million tickets. Here the checked rows and the outcomes are
pickled to a temporary file a chunk at a time, and the keys met so far (to refuse a
repeated ``external_id`` or ``tn``) live in a private temporary SQLite database: memory
stays flat in the size of the input, the disk holds a few hundred bytes a record.
"""

from __future__ import annotations

import heapq
import pickle
import sqlite3
import tempfile
from collections.abc import Iterable, Iterator, Sequence
from itertools import islice
from operator import itemgetter
from typing import Any, Generic, TypeVar

T = TypeVar("T")
KEYS = ("external_id", "tn")
# Keys looked up in one statement (SQLite's default limit of host parameters is 32766).
LOOKUP = 900


def batched(items: Iterable[T], size: int) -> Iterator[list[T]]:
    """Lists of ``size`` items (the last one shorter), as itertools.batched of Python 3.12."""
    iterator = iter(items)
    while part := list(islice(iterator, size)):
        yield part


class Spool(Generic[T]):
    """Items appended a list at a time to an unlinked temporary file; read back in order, as often as wanted."""

    def __init__(self) -> None:
        self.file = tempfile.TemporaryFile()  # noqa: SIM115 - lives as long as the spool, closed with it
        self.count = 0

    def add(self, items: list[T]) -> None:
        if items:
            self.file.seek(0, 2)
            pickle.dump(items, self.file, pickle.HIGHEST_PROTOCOL)
            self.count += len(items)

    def __len__(self) -> int:
        return self.count

    def __iter__(self) -> Iterator[T]:
        # Each reader keeps its own place: readers and writers may take turns on the one file.
        position = 0
        while True:
            self.file.seek(position)
            try:
                items: list[T] = pickle.load(self.file)
            except EOFError:
                return
            position = self.file.tell()
            yield from items


class Outcomes:
    """An import's outcomes in line order: the records the check refused merged with those written."""

    def __init__(self, refused: Spool[dict[str, Any]], written: Spool[dict[str, Any]]) -> None:
        self.refused = refused
        self.written = written

    def __len__(self) -> int:
        return len(self.refused) + len(self.written)

    def __iter__(self) -> Iterator[dict[str, Any]]:
        return heapq.merge(self.refused, self.written, key=itemgetter("line"))


class SeenKeys:
    """The ``external_id`` and ``tn`` values an import has met so far, each with its first line."""

    def __init__(self) -> None:
        self.db = sqlite3.connect("")  # a private temporary database, deleted when closed
        self.db.execute("CREATE TABLE seen (name TEXT, key TEXT, line INTEGER, PRIMARY KEY (name, key)) WITHOUT ROWID")

    def close(self) -> None:
        self.db.close()

    def repeats(self, lines: Sequence[int], tickets: Sequence[dict[str, Any]]) -> dict[int, tuple[str, str, int]]:
        """Which of these (line, ticket) pairs repeat a key met before: position -> (key name, value, first line).

        The others' keys are remembered. As before, a record's ``external_id`` is remembered
        even when its ``tn`` then repeats.
        """
        earlier = self._lookup(tickets)
        repeated: dict[int, tuple[str, str, int]] = {}
        new: list[tuple[str, str, int]] = []
        for position, (line, ticket) in enumerate(zip(lines, tickets, strict=True)):
            for name in KEYS:
                key = ticket[name]
                if key is None:
                    continue
                first = earlier.get((name, key))
                if first is not None:
                    repeated[position] = (name, key, first)
                    break
                earlier[name, key] = line
                new.append((name, key, line))
        self.db.executemany("INSERT INTO seen VALUES (?, ?, ?)", new)
        return repeated

    def _lookup(self, tickets: Sequence[dict[str, Any]]) -> dict[tuple[str, str], int]:
        found: dict[tuple[str, str], int] = {}
        for name in KEYS:
            keys = [t[name] for t in tickets if t[name] is not None]
            for part in batched(keys, LOOKUP):
                marks = ", ".join("?" * len(part))
                rows = self.db.execute(f"SELECT key, line FROM seen WHERE name = ? AND key IN ({marks})", [name, *part])
                found.update({(name, key): line for key, line in rows})
        return found
