"""The installed ``tktctl`` command's first code: a `mail ingest` never dies by a signal.

Importing the command line (Typer and the rest) takes a noticeable part of a second. An MTA
that stops a delivery in that window must see exit 75 (EX_TEMPFAIL: it keeps the message and
retries), not a death by signal. So for `mail ingest` the termination signals exit 75 from the
first moment, before anything else is imported; the command's own handler
(:class:`tktctl.ingestguard.Interruptible`) takes over once it runs. Only the standard
library is imported here, and nothing at all for other commands.
"""

from __future__ import annotations

import os
import signal
import sys
from types import FrameType

from tktctl.ingestguard import SIGNALS, is_mail_ingest


def _tempfail(number: int, frame: FrameType | None) -> None:
    os.write(
        2, f"tktctl: error: interrupted by {signal.Signals(number).name} before the message was read; retry\n".encode()
    )
    os._exit(75)


def entry() -> None:
    """Guard `mail ingest` against early signals, then run the command line (:func:`tktctl.cli.entry`)."""
    if is_mail_ingest(sys.argv[1:]):
        for number in SIGNALS:
            signal.signal(number, _tempfail)
    from tktctl.cli import entry as run

    run()
