"""The permission matrix of the command line, generated from the command tree.

Agent ``bob`` holds ro,note,owner,create on group ``support`` and nothing on group ``secret``
(queue Secret: an open ticket with an article, an attachment, an external id and history, a
closed one, a dead letter and an outbox notification about them). Every leaf command of the
real app, and every documented stdin/header/file input, is run as bob against Secret: it is
refused (exit 3 or 4, the database unchanged, nothing of Secret printed) unless :data:`RULES`
allows it with a reason, and then nothing of Secret is printed either. A command without a
rule fails :func:`test_every_command_has_a_rule`, so a new command cannot skip the matrix.

One provisioned database per backend serves every case (module scope), as in
tests/test_permission_matrix.py.
"""

from __future__ import annotations

import contextlib
import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from tests.conftest import BACKENDS, Cli, Result, Server, _server_or_skip, dump
from tktctl.api import Desk

MARK = "XYZZY"  # in every Secret title, subject, body, filename, external id: never printed to bob
BOB = ("--as", "bob")


@dataclass(frozen=True)
class Secret:
    """What bob must never see, and the ids the cases aim at."""

    tn: str
    closed: str
    pending: str
    attachment: int
    article: int
    failed: int
    outbox: int
    support: str  # a Support ticket bob may work on
    copy_url: str  # an empty database for `db copy`

    @property
    def values(self) -> dict[str, str]:
        return {k: str(v) for k, v in self.__dict__.items()}


@dataclass(frozen=True)
class Rule:
    """One way to run a command as bob against Secret; refused unless ``allow`` says why not.

    ``writes``: an allowed case that may write what bob may write (so the dump is not compared);
    ``check``: an extra assertion on an allowed case's result (e.g. the Secret rows are absent).
    """

    argv: tuple[str, ...]
    stdin: str | None = None
    allow: str | None = None
    writes: bool = False
    check: Callable[[Result, Secret], None] | None = None


def absent(result: Result, secret: Secret) -> None:
    """A silently filtered read: success, and no Secret ticket number in it."""
    assert result.exit_code == 0, result.stderr
    for tn in (secret.tn, secret.closed, secret.pending):
        assert tn not in result.stdout


def zero(result: Result, secret: Secret) -> None:
    assert result.exit_code == 0 and result.stdout.split()[-1] == "0", result


def lines_refused(result: Result, secret: Secret) -> None:
    assert result.exit_code == 7 and {line["exit"] for line in result.jsonl} <= {3, 4}, result.stdout


def taken(result: Result, secret: Secret) -> None:
    """A key of an invisible ticket: exit 5, nothing printed, and the message names only bob's own key."""
    assert result.exit_code == 5 and result.stdout == "" and "is taken" in result.stderr, result


TAKEN = "a key bob gave belongs to a ticket he may not see: 'is taken' (exit 5, contract §6), nothing of it shown"


def none_escalated(result: Result, secret: Secret) -> None:
    """Secret's overdue pending ticket is escalated, but not among what bob may count."""
    assert result.exit_code == 0 and "escalated=0;" in result.stdout, result.stdout


def no_secret_queue(result: Result, secret: Secret) -> None:
    assert result.exit_code == 0 and "Secret" not in result.stdout, result.stdout


FOLLOW_UP = (
    "From: customer@example.com\nTo: desk@example.com\nSubject: Re: [Ticket#{tn}] hello\n"
    "X-OTRS-FollowUp-State: closed successful\nX-Tktctl-FollowUp-Priority: 5\n\nanswer\n"
)
READ = "reading queues, agents, groups, roles, customers, notification rules and the like needs no permission (README)"
OWN = "an agent may read its own rights"
TRUST = "acts on the database itself: its credentials are the trust boundary (contract §1), not --as"
FILTERED = "other groups' tickets are silently left out; asserted absent"
JOB = FILTERED + " (a run records itself in job_lock, so only the Secret tickets are compared)"
NOT_SECRET = "touches no ticket data"
SERVER = "the warm command server is a process of the user, not of the desk: no database, no ticket data"


def no_server(result: Result, secret: Secret) -> None:
    assert result.exit_code == 3 and "no server is running" in result.stderr, result


def server_started(result: Result, secret: Secret) -> None:
    from tktctl.server import control

    assert result.exit_code == 0 and int(result.stdout.split()[-1]) > 0, result
    control.stop(control.config_path(None))


# Command path -> its cases. `{tn}` etc. are filled from :class:`Secret`.
RULES: dict[str, list[Rule | tuple[Rule, str]]] = {
    "init": [Rule(("init",), allow=TRUST, writes=True)],
    "completion": [Rule(("completion", "bash"), allow=NOT_SECRET)],
    "ticket create": [
        Rule(("ticket", "create", "--queue", "Secret", "--title", "x")),
        Rule(("ticket", "create", "--from", "-", "--format", "jsonl"), stdin='{{"title": "x", "queue": "Secret"}}'),
        Rule(
            ("ticket", "create", "--queue", "Support", "--title", "x", "--external-id", f"ext-{MARK}"),
            allow=TAKEN,
            check=taken,
        ),
    ],
    "ticket import": [
        Rule(("ticket", "import", "-", "--format", "jsonl"), stdin='{{"title": "x", "queue": "Secret"}}'),
        Rule(
            ("ticket", "import", "-", "--format", "jsonl", "--if-exists", "update"),
            stdin='{{"tn": "{tn}", "title": "x", "queue": "Support", "owner": "bob", "state": "open"}}',
            allow=TAKEN,
            check=taken,
        ),
        Rule(
            ("ticket", "import", "-", "--format", "jsonl", "--if-exists", "fail"),
            stdin=f'{{{{"external_id": "ext-{MARK}", "title": "x", "queue": "Support"}}}}',
            allow=TAKEN,
            check=taken,
        ),
    ],
    "ticket export": [Rule(("ticket", "export", "-o", "jsonl"), allow=FILTERED, check=absent)],
    "ticket show": [Rule(("ticket", "show", "{tn}"))],
    "ticket list": [
        Rule(("ticket", "list", "-q"), allow=FILTERED, check=absent),
        Rule(("ticket", "list", "--queue", "Secret", "-o", "json"), allow=FILTERED, check=absent),
        Rule(("ticket", "list", "--linked-to", "{support}", "-o", "json"), allow=FILTERED, check=absent),
        Rule(("ticket", "list", "--linked-to", "{tn}")),
        Rule(("ticket", "list", "--field", f"env=v{MARK}", "-o", "json"), allow=FILTERED, check=absent),
    ],
    "ticket count": [Rule(("ticket", "count", "--queue", "Secret"), allow=FILTERED, check=zero)],
    "ticket search": [
        Rule(("ticket", "search", MARK, "-o", "json"), allow=FILTERED, check=absent),
        Rule(("ticket", "search", MARK, "--queue", "Secret", "--in", "title,body", "-q"), allow=FILTERED, check=absent),
        Rule(("ticket", "list", "--text", MARK, "-o", "json"), allow=FILTERED, check=absent),
    ],
    "ticket move": [
        Rule(("ticket", "move", "{tn}", "--to", "Support")),
        Rule(("ticket", "move", "-", "--to", "Support"), stdin="{tn}\n"),
        Rule(("ticket", "move", "--to", "Support", "--queue", "Secret")),
    ],
    "ticket lock": [Rule(("ticket", "lock", "{tn}")), Rule(("ticket", "lock", "{tn}", "--steal"))],
    "ticket unlock": [Rule(("ticket", "unlock", "{tn}", "--steal"))],
    "ticket prioritize": [
        Rule(("ticket", "prioritize", "{tn}", "--to", "5")),
        Rule(("ticket", "prioritize", "--raise", "1", "--all")),
    ],
    "ticket close": [Rule(("ticket", "close", "{tn}"))],
    "ticket set": [
        Rule(("ticket", "set", "{tn}", "env=x")),
        Rule(("ticket", "set", "-", "--set", "env=x"), stdin="{tn}\n"),
        Rule(("ticket", "set", "{support}", "env=x")),  # bob may see it, but holds no rw: exit 4
    ],
    "ticket time": [Rule(("ticket", "time", "{tn}"))],
    "ticket reopen": [Rule(("ticket", "reopen", "{closed}"))],
    "ticket state": [Rule(("ticket", "state", "{tn}", "--to", "open"))],
    "ticket assign": [Rule(("ticket", "assign", "{tn}", "--to", "bob"))],
    "ticket note": [
        Rule(("ticket", "note", "{tn}", "--body", "x")),
        Rule(("ticket", "note", "-", "--body", "x"), stdin="{tn}\n"),
        Rule(("ticket", "note", "{tn}", "--body", "x", "--time-units", "5")),
        Rule(("ticket", "note", "-", "--body", "x"), stdin='{{"tn": "{tn}"}}\n'),
        Rule(("ticket", "note", "--queue", "Secret", "--body", "x"), allow=FILTERED, check=absent),
    ],
    "ticket history": [Rule(("ticket", "history", "{tn}"))],
    # Issue 12, part A (t12a):
    "ticket update": [
        Rule(("ticket", "update", "{tn}", "--title", "x")),
        Rule(("ticket", "update", "-", "--type", "Unclassified"), stdin="{tn}\n"),
        Rule(("ticket", "update", "{tn}", "--responsible", "bob")),
        Rule(("ticket", "update", "--queue", "Secret", "--title", "x"), allow=FILTERED, check=absent),
    ],
    "ticket delete": [
        Rule(("ticket", "delete", "{tn}", "--yes")),
        Rule(("ticket", "delete", "-", "--yes"), stdin="{closed}\n"),
        Rule(("ticket", "delete", "--queue", "Secret", "--yes"), allow=FILTERED, check=absent),
    ],
    # Links (issue 12): bob's Support ticket is linked to Secret's (see _provision).
    "ticket link": [Rule(("ticket", "link", "{tn}", "{support}")), Rule(("ticket", "link", "{support}", "{tn}"))],
    "ticket unlink": [Rule(("ticket", "unlink", "{support}", "{tn}")), Rule(("ticket", "unlink", "{tn}", "{support}"))],
    "ticket links": [
        Rule(("ticket", "links", "{tn}")),
        Rule(("ticket", "links", "{support}", "-o", "json"), allow=FILTERED, check=absent),
    ],
    "ticket merge": [
        Rule(("ticket", "merge", "{tn}", "--into", "{support}")),
        Rule(("ticket", "merge", "{support}", "--into", "{tn}")),
        Rule(("ticket", "merge", "--queue", "Secret", "--into", "{support}")),
    ],
    "ticket split": [Rule(("ticket", "split", "{tn}", "--article", "1", "--queue", "Support"))],
    "ticket reply": [
        Rule(("ticket", "reply", "{tn}", "--body", "x", "--to", "a@example.com")),
        Rule(("ticket", "reply", "{tn}", "--template", "answer")),
    ],
    "ticket attachments": [Rule(("ticket", "attachments", "{tn}"))],
    "ticket watch": [
        Rule(("ticket", "watch", "{tn}")),
        Rule(("ticket", "watch", "{support}", "--agent", "root@localhost")),  # for another agent: rw
    ],
    "ticket unwatch": [Rule(("ticket", "unwatch", "{tn}"))],
    "notification list": [Rule(("notification", "list"), allow=READ)],
    "notification dump": [Rule(("notification", "dump"), allow=READ)],
    "notification apply": [
        Rule(("notification", "apply", "-f", "-"), stdin="name: x\nevents: [Move]\nrecipients: [owner]\n")
    ],
    "ticket attachment": [Rule(("ticket", "attachment", "{tn}", "{attachment}", "--to-file", "out.bin"))],
    "ticket article": [
        Rule(("ticket", "article", "{tn}", "{article}")),
        Rule(("ticket", "article", "{tn}", "{article}", "--raw")),
    ],
    "queue create": [Rule(("queue", "create", "Secret2", "--group", "secret"))],
    "queue list": [Rule(("queue", "list"), allow=READ)],
    "queue show": [Rule(("queue", "show", "Secret"), allow=READ)],
    "queue update": [
        Rule(("queue", "update", "Secret", "--group", "support")),
        Rule(("queue", "update", "Secret", "--address", "desk@example.com", "--signature", "sig")),
    ],
    "queue apply": [Rule(("queue", "apply", "-f", "-"), stdin="name: Secret\ngroup: support\n")],
    "queue rename": [Rule(("queue", "rename", "Secret", "Open"))],
    "queue disable": [Rule(("queue", "disable", "Secret"))],
    "queue enable": [Rule(("queue", "enable", "Secret"))],
    "queue delete": [Rule(("queue", "delete", "Secret"))],
    "agent create": [Rule(("agent", "create", "eve"))],
    "agent list": [Rule(("agent", "list"), allow=READ)],
    "agent show": [Rule(("agent", "show", "root@localhost"), allow=READ)],
    "agent update": [
        Rule(("agent", "update", "root@localhost", "--email", "bob@example.com")),
        Rule(("agent", "update", "root@localhost", "--mute", "Move")),
    ],
    "agent disable": [Rule(("agent", "disable", "root@localhost"))],
    "agent enable": [Rule(("agent", "enable", "root@localhost"))],
    "agent passwd": [Rule(("agent", "passwd", "root@localhost", "--password-stdin"), stdin="hunter2\n")],
    "agent apply": [Rule(("agent", "apply", "-f", "-"), stdin="login: root@localhost\nemail: bob@example.com\n")],
    "agent subscribe": [Rule(("agent", "subscribe", "bob", "--queue", "Secret"))],
    "agent unsubscribe": [Rule(("agent", "unsubscribe", "root@localhost", "--queue", "Secret"))],
    "agent subscriptions": [Rule(("agent", "subscriptions", "root@localhost"), allow=READ)],
    "address create": [Rule(("address", "create", "spy@example.com"))],
    "address list": [Rule(("address", "list"), allow=READ)],
    "address show": [Rule(("address", "show", "desk@example.com"), allow=READ)],
    "address update": [Rule(("address", "update", "desk@example.com", "--name", "Spy"))],
    "address disable": [Rule(("address", "disable", "desk@example.com"))],
    "address enable": [Rule(("address", "enable", "desk@example.com"))],
    "salutation create": [Rule(("salutation", "create", "spy", "--body", "x"))],
    "salutation list": [Rule(("salutation", "list"), allow=READ)],
    "salutation show": [Rule(("salutation", "show", "hello"), allow=READ)],
    "salutation update": [Rule(("salutation", "update", "hello", "--body", "x"))],
    "salutation disable": [Rule(("salutation", "disable", "hello"))],
    "salutation enable": [Rule(("salutation", "enable", "hello"))],
    "signature create": [Rule(("signature", "create", "spy", "--body", "x"))],
    "signature list": [Rule(("signature", "list"), allow=READ)],
    "signature show": [Rule(("signature", "show", "sig"), allow=READ)],
    "signature update": [Rule(("signature", "update", "sig", "--body", "x"))],
    "signature disable": [Rule(("signature", "disable", "sig"))],
    "signature enable": [Rule(("signature", "enable", "sig"))],
    "template create": [Rule(("template", "create", "spy", "--body", "x", "--queue", "Secret"))],
    "template list": [Rule(("template", "list"), allow=READ)],
    "template show": [Rule(("template", "show", "answer"), allow=READ)],
    "template update": [Rule(("template", "update", "answer", "--no-queue", "Secret"))],
    "template delete": [Rule(("template", "delete", "answer"))],
    "template disable": [Rule(("template", "disable", "answer"))],
    "template enable": [Rule(("template", "enable", "answer"))],
    "type apply": [Rule(("type", "apply", "-f", "-"), stdin="name: Unclassified\nvalid: false\n")],
    "type create": [Rule(("type", "create", "Secret2"))],
    "type list": [Rule(("type", "list"), allow=READ)],
    "type show": [Rule(("type", "show", "Unclassified"), allow=READ)],
    "type update": [Rule(("type", "update", "Unclassified", "--rename", "Open"))],
    "type disable": [Rule(("type", "disable", "Unclassified"))],
    "type enable": [Rule(("type", "enable", "Unclassified"))],
    "group apply": [Rule(("group", "apply", "-f", "-"), stdin="name: secret\nvalid: false\n")],
    "group create": [Rule(("group", "create", "secret2"))],
    "group list": [Rule(("group", "list"), allow=READ)],
    "group show": [Rule(("group", "show", "secret"), allow=READ)],
    "group update": [Rule(("group", "update", "secret", "--rename", "open"))],
    "group disable": [Rule(("group", "disable", "secret"))],
    "group enable": [Rule(("group", "enable", "secret"))],
    "role apply": [Rule(("role", "apply", "-f", "-"), stdin="name: keepers\nagents: [bob]\n")],
    "role create": [Rule(("role", "create", "spies"))],
    "role list": [Rule(("role", "list"), allow=READ)],
    "role show": [Rule(("role", "show", "keepers"), allow=READ)],
    "role update": [Rule(("role", "update", "keepers", "--rename", "open"))],
    "role disable": [Rule(("role", "disable", "keepers"))],
    "role enable": [Rule(("role", "enable", "keepers"))],
    "role add-agent": [Rule(("role", "add-agent", "keepers", "bob"))],
    "role remove-agent": [Rule(("role", "remove-agent", "keepers", "root@localhost"))],
    "acl grant": [Rule(("acl", "grant", "rw", "--group", "secret", "--agent", "bob"))],
    "acl revoke": [Rule(("acl", "revoke", "rw", "--group", "secret", "--role", "keepers"))],
    "acl list": [
        Rule(("acl", "list", "--agent", "root@localhost")),
        Rule(("acl", "list", "--agent", "bob"), allow=OWN),
    ],
    "acl check": [
        Rule(("acl", "check", "--agent", "bob", "--ticket", "{tn}", "--perm", "ro")),
        Rule(("acl", "check", "--agent", "root@localhost", "--queue", "Secret", "--perm", "rw")),
    ],
    "acl apply": [Rule(("acl", "apply", "-f", "-"), stdin="agents:\n  bob:\n    grants: {{secret: [rw]}}\n")],
    "acl dump": [Rule(("acl", "dump"))],
    "desk dump": [Rule(("desk", "dump"))],
    "desk apply": [
        Rule(("desk", "apply", "-f", "-"), stdin="roles:\n- name: keepers\n  agents: [bob]\n"),
        Rule(("desk", "apply", "-f", "-", "--dry-run"), stdin="roles:\n- name: keepers\n  agents: [bob]\n"),
        Rule(
            ("desk", "apply", "-f", "-"),
            stdin="agents:\n- login: bob\n  valid: true\ngrants:\n- agent: bob\n  group: secret\n  permissions: [rw]\n",
        ),
        Rule(("desk", "apply", "-f", "-", "--prune"), stdin="queues: []\n"),
    ],
    "autoresponse apply": [
        Rule(
            ("autoresponse", "apply", "-f", "-"),
            stdin="name: leak\ntype: auto reply\nsubject: x\nbody: y\nqueues: [Secret]\n",
        )
    ],
    "customer create": [Rule(("customer", "create", "mallory@example.com"))],
    "customer list": [Rule(("customer", "list"), allow=READ)],
    "customer show": [Rule(("customer", "show", "alice@example.com"), allow=READ)],
    "customer update": [Rule(("customer", "update", "alice@example.com", "--email", "bob@example.com"))],
    "customer disable": [Rule(("customer", "disable", "alice@example.com"))],
    "customer enable": [Rule(("customer", "enable", "alice@example.com"))],
    "customer passwd": [Rule(("customer", "passwd", "alice@example.com", "--password-stdin"), stdin="x\n")],
    "customer auth": [Rule(("customer", "auth", "alice@example.com", "--password-stdin"), stdin="wrong\n")],
    "history export": [
        Rule(("history", "export", "-o", "jsonl"), allow=FILTERED, check=absent),
        Rule(("history", "export", "--queue", "Secret", "-o", "jsonl"), allow=FILTERED, check=absent),
    ],
    "audit list": [Rule(("audit", "list"))],
    "db upgrade": [Rule(("db", "upgrade"), allow=TRUST)],
    "db status": [Rule(("db", "status"), allow=TRUST)],
    "db copy": [Rule(("db", "copy", "--to", "{copy_url}"))],  # every ticket and password hash: admin
    "mail ingest": [
        Rule(
            ("mail", "ingest", "-"),
            stdin=FOLLOW_UP,
            allow="a follow-up is stored, never applied to Secret",
            writes=True,
        ),
    ],
    "mail fetch": [
        Rule(
            ("mail", "fetch"),
            allow="no account is configured here (exit 2); what it fetches goes through `mail ingest`, covered below",
        )
    ],
    "mail failed": [Rule(("mail", "failed", "--all"))],
    "mail retry": [Rule(("mail", "retry", "{failed}"))],
    "mail outbox": [Rule(("mail", "outbox", "--status", "pending,failed,sent"))],
    "mail send": [Rule(("mail", "send"))],
    "mail filter create": [
        Rule(("mail", "filter", "create", "spy", "--match", "Subject=.", "--set", "X-OTRS-Queue=Secret"))
    ],
    "mail filter list": [Rule(("mail", "filter", "list"))],
    "mail filter show": [Rule(("mail", "filter", "show", "route"))],
    "mail filter update": [Rule(("mail", "filter", "update", "route", "--set", "X-OTRS-Queue=Support"))],
    "mail filter disable": [Rule(("mail", "filter", "disable", "route"))],
    "mail filter delete": [Rule(("mail", "filter", "delete", "route"))],
    "mail filter apply": [
        Rule(
            ("mail", "filter", "apply", "-f", "-"),
            stdin="name: route\nmatch: [{{header: Subject, value: x}}]\nset: {{X-OTRS-Queue: Support}}\n",
        )
    ],
    "mail filter dump": [Rule(("mail", "filter", "dump"))],
    "autoresponse create": [
        Rule(("autoresponse", "create", "spy", "--type", "auto-reply", "--subject", "s", "--body", "b"))
    ],
    "autoresponse list": [Rule(("autoresponse", "list"), allow=READ)],
    "autoresponse show": [Rule(("autoresponse", "show", "thanks"), allow=READ)],
    "autoresponse update": [Rule(("autoresponse", "update", "thanks", "--subject", "x"))],
    "calendar create": [Rule(("calendar", "create", "spy", "--timezone", "UTC"))],
    "field create": [Rule(("field", "create", "x", "--type", "text"))],
    "field update": [Rule(("field", "update", "env", "--label", "x"))],
    "field disable": [Rule(("field", "disable", "env"))],
    "field list": [Rule(("field", "list"), allow=READ)],
    "field show": [Rule(("field", "show", "env"), allow=READ)],
    "calendar list": [Rule(("calendar", "list"), allow=READ)],
    "calendar show": [Rule(("calendar", "show", "office"), allow=READ)],
    "calendar update": [Rule(("calendar", "update", "office", "--timezone", "UTC"))],
    "calendar apply": [Rule(("calendar", "apply", "-f", "-"), stdin="name: office\ntimezone: UTC\n")],
    "maint pending": [Rule(("maint", "pending")), Rule(("maint", "pending", "--dry-run"))],
    "maint escalation-rebuild": [Rule(("maint", "escalation-rebuild"))],
    "maint unlock-timeout": [Rule(("maint", "unlock-timeout"))],
    "maint analyze": [Rule(("maint", "analyze"))],
    "job run": [
        Rule(
            ("job", "run", "-"),
            stdin="name: x\nfilter: {{queue: Secret}}\nactions: {{priority: '+1'}}\n",
            allow=JOB,
            writes=True,
            check=absent,
        ),
        Rule(
            ("job", "run", "-"),
            stdin="name: x\nfilter: {{title: " + MARK + "}}\nactions: {{state: open}}\n",
            allow=JOB,
            writes=True,
            check=absent,
        ),
    ],
    "job apply": [
        Rule(("job", "apply", "-f", "-"), stdin="name: x\nfilter: {{queue: Secret}}\nactions: {{priority: '+1'}}\n")
    ],
    "job list": [Rule(("job", "list"))],
    "job show": [Rule(("job", "show", "stale"))],
    "job delete": [Rule(("job", "delete", "stale"))],
    "check escalations": [
        Rule(
            ("check", "escalations"),
            allow="the monitoring plugin prints one count, of the tickets bob may see; asserted: not Secret's",
            check=none_escalated,
        )
    ],
    "escalate": [Rule(("escalate", "--queue", "Secret")), Rule(("escalate",))],
    "stats": [Rule(("stats", "--by", "queue", "-o", "json"), allow=FILTERED, check=no_secret_queue)],
    "server start": [Rule(("server", "start", "--idle-timeout", "30", "-q"), allow=SERVER, check=server_started)],
    "server status": [Rule(("server", "status"), allow=SERVER, check=no_server)],
    "server stop": [Rule(("server", "stop"), allow=SERVER, check=no_server)],
    "batch": [
        Rule(
            ("batch",),
            stdin="ticket close {tn}\nticket note {tn} --body x\nticket show {tn}\nticket reopen {closed}\n",
            allow="batch exits 7 when a line fails; asserted: every line refused (3 or 4)",
            check=lines_refused,
        ),
    ],
}


def leaf_commands() -> list[str]:
    """Every runnable command of the real app, as `noun verb` (walked as docs/generate.py does)."""
    import typer
    from typer.core import TyperGroup

    import tktctl.cli

    def walk(command: object, path: tuple[str, ...]) -> Iterator[str]:
        if isinstance(command, TyperGroup):
            ctx = typer.Context(command, info_name=" ".join(path))
            for name in command.list_commands(ctx):
                sub = command.get_command(ctx, name)
                if sub is not None and not sub.hidden:
                    yield from walk(sub, (*path, name))
        else:
            yield " ".join(path)

    return list(walk(typer.main.get_command(tktctl.cli.app), ()))


def test_every_command_has_a_rule() -> None:
    """A new command without a rule here fails: decide whether bob is refused or why not."""
    commands = leaf_commands()
    assert len(commands) > 90, commands
    assert set(commands) == set(RULES), {"no rule": set(commands) - set(RULES), "stale": set(RULES) - set(commands)}


def _cases() -> Iterator[object]:
    for command, rules in RULES.items():
        for number, entry in enumerate(rules):
            rule, hole = entry if isinstance(entry, tuple) else (entry, None)
            marks = [pytest.mark.xfail(strict=True, reason=hole)] if hole else []
            yield pytest.param(rule, hole is not None, id=f"{command}-{number}", marks=marks)


def _provision(url: str, copy_url: str) -> Secret:
    """bob on support; queue Secret of group secret with everything bob must not see."""
    root = Desk(url)
    root.groups.create("support")
    root.groups.create("secret")
    root.queues.create("Support", group="support")
    root.queues.create("Secret", group="secret")
    root.agents.create("bob")
    for permission in ("ro", "note", "owner", "create"):
        root.acl.grant(permission, group="support", agent="bob")
    root.roles.create("keepers")
    root.roles.add_agents("keepers", ["root@localhost"])
    root.acl.grant("rw", group="secret", role="keepers")
    root.customers.create("alice@example.com")
    root.fields.create("env", type="text")
    root.calendars.create("office", timezone="Europe/Berlin")
    root.autoresponses.create("thanks", type="auto-reply", subject="Thanks", body="Thanks")
    root.addresses.create("desk@example.com")
    root.salutations.create("hello", body="Hello <OTRS_CUSTOMER_REALNAME>,")
    root.signatures.create("sig", body="-- \nThe desk")
    root.templates.create("answer", body="Thanks for <OTRS_TICKET_Title>", queues=["Secret"])
    root.queues.update("Secret", address="desk@example.com", salutation="hello", signature="sig")
    root.jobs.save({"name": "stale", "filter": {"queue": "Support"}, "actions": {"priority": "+1"}})
    root.mail.filters.create("route", match=[("Subject", MARK)], set={"X-OTRS-Queue": "Secret"})
    root.queues.update("Secret", first_response_time=1, escalate_raise=1, escalate_notify=True, unlock_timeout=1)
    raw = (
        f"From: alice@example.com\nTo: desk@example.com\nSubject: Subject {MARK}\nX-Tktctl-Queue: Secret\n"
        "MIME-Version: 1.0\nContent-Type: multipart/mixed; boundary=b\n\n--b\nContent-Type: text/plain\n\n"
        f"Body {MARK}\n--b\nContent-Type: application/pdf; name=plan-{MARK}.pdf\n"
        "Content-Transfer-Encoding: base64\n\nJVBERi0xLjQK\n--b--\n"
    ).encode()
    tn = root.mail.ingest(raw)["ticket"]
    root.tickets.set_fields([tn], {"env": f"v{MARK}"})
    root.tickets.lock([tn])
    root.mail.reply(tn, body=f"Reply {MARK}", to="alice@example.com")
    (attachment,) = root.mail.attachments(tn)
    closed = root.tickets.create(queue="Secret", title=f"Closed {MARK}", external_id=f"ext-{MARK}")["tn"]
    root.tickets.close([closed])
    past = Desk(url, clock=lambda: datetime(2020, 1, 1, tzinfo=UTC))
    pending = past.tickets.create(queue="Secret", title=f"Pending {MARK}")["tn"]
    past.tickets.set_state([pending], to="pending auto close+", pending_until=datetime(2020, 1, 2, tzinfo=UTC))
    past.tickets.lock([pending])  # long past the queue's unlock timeout
    past.close()
    bob = Desk(url, actor="bob")
    failed = bob.mail.ingest(raw.replace(b"Body", b"Other body"))["failed_id"]
    bob.close()
    support = root.tickets.create(queue="Support", title="open to bob")["tn"]
    root.links.link(support, tn)
    outbox = root.mail.outbox()[0]["id"]
    root.close()
    article = attachment["article_id"]
    return Secret(tn, closed, pending, attachment["id"], article, failed, outbox, support, copy_url)


@contextlib.contextmanager
def _provisioned(
    backend: str, servers: dict[str, Server], template: Path, folder: Path
) -> Iterator[tuple[str, Secret]]:
    """A new desk on ``backend`` provisioned with Secret; ``db copy`` targets a file of its own."""
    copy_url = f"sqlite:///{folder / 'copy.db'}"
    if backend == "sqlite":
        shutil.copyfile(template, folder / "desk.db")
        url = f"sqlite:///{folder / 'desk.db'}"
        yield url, _provision(url, copy_url)
        return
    server = _server_or_skip(servers, backend)
    url = server.create()
    desk = Desk(url)
    desk.init()
    desk.close()
    try:
        yield url, _provision(url, copy_url)
    finally:
        server.drop(url)


@pytest.fixture(scope="module", params=BACKENDS)
def matrix_backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="module")
def secret_desk(
    matrix_backend: str, servers: dict[str, Server], sqlite_template: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[tuple[str, Secret]]:
    """One provisioned desk per backend shared by every case that must pass."""
    with _provisioned(matrix_backend, servers, sqlite_template, tmp_path_factory.mktemp("matrix-cli")) as made:
        yield made


def _secret_state(url: str, secret: Secret) -> list[object]:
    """The Secret tickets' rows and how many articles and history rows they have: what an input
    that is stored but must not reach them (a mail follow-up) leaves alone."""
    from sqlalchemy import create_engine, text

    engine = create_engine(url)
    tns = {"a": secret.tn, "b": secret.closed, "c": secret.pending}
    mine = "(SELECT id FROM ticket WHERE tn IN (:a, :b, :c))"
    try:
        with engine.connect() as conn:
            return [
                conn.execute(text("SELECT * FROM ticket WHERE tn IN (:a, :b, :c) ORDER BY id"), tns).all(),
                conn.execute(text(f"SELECT count(*) FROM article WHERE ticket_id IN {mine}"), tns).scalar(),
                conn.execute(text(f"SELECT count(*) FROM ticket_history WHERE ticket_id IN {mine}"), tns).scalar(),
            ]
    finally:
        engine.dispose()


@pytest.mark.parametrize(("rule", "hole"), list(_cases()))
def test_bob_against_secret(
    rule: Rule,
    hole: bool,
    matrix_backend: str,
    request: pytest.FixtureRequest,
    servers: dict[str, Server],
    sqlite_template: Path,
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    """A known hole runs on a desk of its own: what it breaks must not spoil the shared one."""
    monkeypatch.chdir(tmp_path)  # e.g. `ticket attachment` would write the file here
    if hole:
        with _provisioned(matrix_backend, servers, sqlite_template, tmp_path) as (url, secret):
            _run(rule, url, secret, monkeypatch)
    else:
        _run(rule, *request.getfixturevalue("secret_desk"), monkeypatch)


def _run(rule: Rule, url: str, secret: Secret, monkeypatch: pytest.MonkeyPatch) -> None:
    values = secret.values
    argv = [arg.format(**values) for arg in rule.argv]
    stdin = rule.stdin.format(**values) if rule.stdin is not None else None
    before = dump(url)
    secret_before = _secret_state(url, secret)
    result = Cli(url, monkeypatch)(*BOB, *argv, input=stdin, expect=None)
    given = " ".join(argv) + (stdin or "")
    supplied = [*argv, *re.findall(r'"([^"]*)"', stdin or "")]  # what bob typed may be echoed back
    for tn in (secret.tn, secret.closed, secret.pending):
        leaked = tn not in given and tn in result.stdout + result.stderr
        assert not leaked, f"{tn} printed:\n{result.stdout}\n{result.stderr}"
    shown = result.stdout + result.stderr
    for value in sorted(supplied, key=len, reverse=True):
        shown = shown.replace(value, "")
    assert MARK not in shown, result.stdout + result.stderr
    if rule.allow is None:
        assert result.exit_code in (3, 4), (result.exit_code, result.stdout, result.stderr)
        assert dump(url) == before
        return
    assert result.exit_code != 1 and "Traceback" not in result.stderr, result.stderr
    if rule.check is not None:
        rule.check(result, secret)
    if rule.writes:
        assert _secret_state(url, secret) == secret_before
    else:
        assert dump(url) == before
