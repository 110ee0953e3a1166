"""`mail ingest` killed at random moments: the message is stored exactly once, or the MTA was told to retry.

The MTA's view: exit 0 means delivered; exit 75 or death by a signal means "try again".
After SIGTERM the promise is strict (exit 0 with the message stored, or no message with 75
or death before start-up); after SIGKILL the retry recognises a message that did commit,
so retrying until exit 0 never stores it twice.
"""

from __future__ import annotations

import os
import random
import signal
import statistics
import subprocess
import sys
import time
from pathlib import Path

import pytest
from sqlalchemy import func, select

from tktctl.api import Desk
from tktctl.db.models import ArticlePlain, MailFailed

pytestmark = [pytest.mark.e2e, pytest.mark.backends("sqlite")]
EXE = str(Path(sys.executable).with_name("tktctl"))
RETRY = {75, -signal.SIGTERM, -signal.SIGKILL}


def _ingest(db_url: str, raw: bytes, kill: tuple[int, float] | None) -> int:
    process = subprocess.Popen(
        [EXE, "--db", db_url, "mail", "ingest", "-"],
        stdin=subprocess.PIPE,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        env={**os.environ},
    )
    assert process.stdin is not None
    process.stdin.write(raw)
    process.stdin.close()
    if kill is not None:
        number, delay = kill
        time.sleep(delay)
        if process.poll() is None:
            process.send_signal(number)
    return process.wait(60)


def _stored(desk: Desk, raw: bytes) -> int:
    import hashlib

    sha = hashlib.sha256(raw).hexdigest()
    with desk.read() as unit:
        plain = unit.session.scalar(select(func.count()).where(ArticlePlain.sha256 == sha)) or 0
        dead = unit.session.scalar(select(func.count()).where(MailFailed.sha256 == sha)) or 0
    return plain + dead


def _timed_ingest(db_url: str, raw: bytes) -> tuple[int, float]:
    started = time.monotonic()
    code = _ingest(db_url, raw, None)
    return code, time.monotonic() - started


@pytest.mark.parametrize("number", [signal.SIGTERM, signal.SIGKILL])
def test_killed_ingest_is_stored_once_or_retried(db_url: str, number: int) -> None:
    desk = Desk(db_url)
    durations: list[float] = []  # of unkilled runs: two warm-ups, then every retry
    for warm_up in (b"Subject: warm up\r\n\r\none\r\n", b"Subject: warm up\r\n\r\ntwo\r\n"):
        code, took = _timed_ingest(db_url, warm_up)
        assert code == 0
        durations.append(took)
    chance = random.Random(number)
    outcomes: dict[int, int] = {}
    n = 0
    # At least 14 kills, and more until both ends were hit. The span follows the median unkilled run:
    # a busy machine can make every run slower than the warm-ups, or one slow warm-up overstate it.
    while n < 14 or (len(outcomes) == 1 and n < 40):
        raw = f"From: c{n}@example.com\r\nSubject: kill {n}\r\nMessage-ID: <k{n}@example.com>\r\n\r\nbody {n}\r\n"
        raw_bytes = raw.encode()
        n += 1
        # kills spread over start-up, work, commit and exit, and some land after the exit
        code = _ingest(db_url, raw_bytes, (number, chance.uniform(0.0, statistics.median(durations) * 1.5)))
        outcomes[code] = outcomes.get(code, 0) + 1
        stored = _stored(desk, raw_bytes)
        assert code == 0 or code in RETRY, code
        if code == 0:
            assert stored == 1
        elif number == signal.SIGTERM:
            assert stored == 0, f"exit {code} but the message was stored: the MTA would deliver it twice"
        attempts = 0
        while code != 0:  # the MTA retries until it hears 0
            attempts += 1
            assert attempts < 5
            code, took = _timed_ingest(db_url, raw_bytes)
            durations.append(took)
        assert _stored(desk, raw_bytes) == 1, "stored twice or not at all"
    assert len(outcomes) > 1, f"every run ended the same way ({outcomes}): the kills did not vary"
    desk.close()
