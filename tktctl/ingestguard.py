"""Signals around `mail ingest`: exit 75 (the MTA retries) before the commit, never a death after it.

Standard library only: the launcher (:mod:`tktctl.launch`) uses it before anything else is
imported, the command line (:mod:`tktctl.cli`) and `mail ingest` (:mod:`tktctl.commands.mail`)
after.
"""

from __future__ import annotations

import os
import signal
from collections.abc import Sequence
from itertools import pairwise
from types import FrameType

from tktctl.errors import TempFail

TYPE_CHECKING = False  # see tktctl/__init__.py
if TYPE_CHECKING:
    from typing import Any, ClassVar

SIGNALS = (signal.SIGTERM, signal.SIGINT, signal.SIGHUP)


def is_mail_ingest(argv: Sequence[str]) -> bool:
    """Whether a command line runs `mail ingest` (global options may come first)."""
    return ("mail", "ingest") in pairwise(argv)


class Interruptible:
    """Termination signals abort with 75 until ``seal`` (just before a commit); after a commit they wait.

    The handler stays installed once the command is done: a signal between a commit and the
    process exit must not turn a stored message into a death by signal (the MTA would send it
    again). Outside a command, or when nothing was committed, a signal acts as it did before.
    """

    previous: ClassVar[dict[int, Any]] = {}
    # Set by the installed `tktctl` (cli.entry), which ends with os._exit: keep ignoring signals
    # after a commit until then. Called in-process (tests, the API) the old handlers come back.
    linger_after_commit: ClassVar[bool] = False

    def __init__(self) -> None:
        self.active = False
        self.sealed = False
        self.committed = False
        self.stop = False

    def __enter__(self) -> Interruptible:
        for number in SIGNALS:
            if number not in Interruptible.previous:
                Interruptible.previous[number] = signal.getsignal(number)
            signal.signal(number, self._handle)
        self.active = True
        return self

    def __exit__(self, *_: object) -> None:
        self.active = False
        self.unseal()
        if not (self.committed and Interruptible.linger_after_commit):
            for number, handler in Interruptible.previous.items():
                signal.signal(number, handler)

    def seal(self) -> None:
        signal.pthread_sigmask(signal.SIG_BLOCK, SIGNALS)
        self.sealed = True

    def unseal(self) -> None:
        """After a message: a held signal is delivered now (it only asks to stop)."""
        if self.sealed:
            self.committed = True
        signal.pthread_sigmask(signal.SIG_UNBLOCK, SIGNALS)
        self.sealed = False

    def _handle(self, number: int, frame: FrameType | None) -> None:
        # Committed first: a signal held during the commit arrives as `unseal` unblocks it, while
        # the command is still active; it must not turn a stored message into a 75.
        if self.sealed or self.committed:
            self.stop = True
            return
        if self.active:
            self.stop = True
            raise TempFail(f"interrupted by signal {signal.Signals(number).name} before the commit; retry")
        previous = Interruptible.previous.get(number, signal.SIG_DFL)
        if callable(previous):
            previous(number, frame)
        elif previous == signal.SIG_DFL:
            signal.signal(number, signal.SIG_DFL)
            os.kill(os.getpid(), number)
