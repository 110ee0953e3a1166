"""The permission matrix, generated: each permission type x each ticket command, held directly
and again only through a role, on every backend.

An agent holding exactly one permission type (on the ticket's group and on the move target's
group) either succeeds or is refused as the README's "Who may do what" table says: a ticket it
may not see (no ``ro``, not its owner) does not exist for it, whatever the verb (exit 3, the
message of a missing ticket); exit 4 naming the missing permission only where it may see the
ticket (or for a queue, when creating); silently filtered lists. Nothing is written either way.
One database per backend serves every case (each case works on its own new tickets), so the
~600 cases stay fast.
"""

from __future__ import annotations

import re
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import BACKENDS, Cli, Server, _server_or_skip, dump
from tktctl.api import Desk, NotFoundError, TicketFilter, TktctlError

PERMISSIONS = ("ro", "move_into", "create", "note", "owner", "priority", "rw")
HOLDINGS = ("direct", "role")


@dataclass(frozen=True)
class Case:
    """One command of the matrix: what it needs, how to prepare a ticket for it, how it is refused."""

    needs: frozenset[str]
    run: Callable[[Desk, str], Any]
    prepare: Callable[[Desk, str, str], None] = lambda root, tn, login: None
    refused: int = 4  # exit code when denied; 0: the ticket is silently left out (list-like commands)
    names_ticket: bool = True  # False: the command names a queue, not a ticket (create, import)


def _locked_by(agent: str) -> Callable[[Desk, str, str], None]:
    def prepare(root: Desk, tn: str, login: str) -> None:
        root.tickets.lock([tn])
        if agent == "self":
            root.tickets.assign([tn], to=login)

    return prepare


def _close(root: Desk, tn: str, login: str) -> None:
    root.tickets.close([tn])


def _attachment(desk: Desk, tn: str) -> None:
    """Allowed, only the attachment is missing; refused, the ticket itself is not found."""
    try:
        desk.mail.attachment(tn, 0)
    except NotFoundError as missing:
        if "has no attachment" not in missing.message:
            raise


# A second ticket (and an article) per case, made by root before the case runs: link, merge, split.
OTHERS: dict[str, str] = {}
ARTICLES: dict[str, int] = {}


def _other(root: Desk, tn: str, login: str) -> None:
    OTHERS[tn] = root.tickets.create(queue="Support", title=f"other of {tn}")["tn"]


def _linked(root: Desk, tn: str, login: str) -> None:
    _other(root, tn, login)
    root.links.link(tn, OTHERS[tn])


def _article(root: Desk, tn: str, login: str) -> None:
    root.tickets.note(tn, body="split me")
    ARTICLES[tn] = root.tickets.show(tn)["articles"][0]["id"]


def _one_article(desk: Desk, tn: str) -> None:
    """Allowed, only the article is missing; refused, the ticket itself is not found."""
    try:
        desk.articles.show(tn, 0)
    except NotFoundError as missing:
        if "has no article" not in missing.message:
            raise


MATRIX: dict[str, Case] = {
    "list": Case(frozenset({"ro"}), lambda d, tn: tn in [t["tn"] for t in d.tickets.list()], refused=0),
    "show": Case(frozenset({"ro"}), lambda d, tn: d.tickets.show(tn), refused=3),
    "search": Case(
        frozenset({"ro"}), lambda d, tn: tn in [t["tn"] for t in d.search.tickets("search", limit=1000)], refused=0
    ),
    "history": Case(frozenset({"ro"}), lambda d, tn: d.tickets.history(tn), refused=3),
    "history-export": Case(frozenset({"ro"}), lambda d, tn: tn in {h["ticket"] for h in d.history.export()}, refused=0),
    "create": Case(
        frozenset({"create"}), lambda d, tn: d.tickets.create(queue="Support", title="new"), names_ticket=False
    ),
    "move": Case(frozenset({"ro", "move_into"}), lambda d, tn: d.tickets.move([tn], "Target")),
    "lock": Case(frozenset({"owner"}), lambda d, tn: d.tickets.lock([tn])),
    "unlock": Case(frozenset({"owner"}), lambda d, tn: d.tickets.unlock([tn]), _locked_by("self")),
    "steal": Case(frozenset({"owner", "rw"}), lambda d, tn: d.tickets.lock([tn], steal=True), _locked_by("root")),
    "assign": Case(frozenset({"owner"}), lambda d, tn: d.tickets.assign([tn], to="root@localhost")),
    "prioritize": Case(frozenset({"priority"}), lambda d, tn: d.tickets.prioritize([tn], to=5)),
    "note": Case(frozenset({"note"}), lambda d, tn: d.tickets.note(tn, body="hello")),
    "close": Case(frozenset({"rw"}), lambda d, tn: d.tickets.close([tn])),
    "state": Case(frozenset({"rw"}), lambda d, tn: d.tickets.set_state([tn], to="open")),
    "reopen": Case(frozenset({"rw"}), lambda d, tn: d.tickets.reopen([tn]), _close),
    "count": Case(
        frozenset({"ro"}),
        lambda d, tn: d.tickets.count(TicketFilter(title=f"count by {d.actor_login}")) == 1,
        refused=0,
    ),
    "export": Case(frozenset({"ro"}), lambda d, tn: tn in {t["tn"] for t in d.transfer.export_tickets()}, refused=0),
    "reply": Case(frozenset({"rw"}), lambda d, tn: d.mail.reply(tn, body="hello", to="customer@example.com")),
    "reply-template": Case(
        frozenset({"rw"}), lambda d, tn: d.mail.reply(tn, body=None, template="thanks", to="customer@example.com")
    ),
    "attachments": Case(frozenset({"ro"}), lambda d, tn: d.mail.attachments(tn), refused=3),
    "watch": Case(frozenset({"ro"}), lambda d, tn: d.watchers.watch([tn])),
    "unwatch": Case(frozenset({"ro"}), lambda d, tn: d.watchers.unwatch([tn])),
    "attachment": Case(frozenset({"ro"}), _attachment, refused=3),
    # Issue 12, part A (t12a):
    "update": Case(frozenset({"rw"}), lambda d, tn: d.edits.update([tn], title="changed", customer="acme")),
    "update-responsible": Case(frozenset({"owner"}), lambda d, tn: d.edits.update([tn], responsible="root@localhost")),
    "delete": Case(frozenset({"rw"}), lambda d, tn: d.purge.delete([tn])),
    "article": Case(frozenset({"ro"}), _one_article, refused=3),
    "import": Case(
        frozenset({"create"}),
        lambda d, tn: d.transfer.import_tickets([(1, {"title": "imported", "queue": "Support"})]),
        names_ticket=False,
    ),
    # Links (issue 12): rw on the first ticket, ro on the other; merge rw on both; split ro and create.
    "link": Case(frozenset({"rw"}), lambda d, tn: d.links.link(tn, OTHERS[tn]), _other),
    "unlink": Case(frozenset({"rw"}), lambda d, tn: d.links.unlink(tn, OTHERS[tn]), _linked),
    "links": Case(frozenset({"ro"}), lambda d, tn: d.links.list(tn), refused=3),
    "merge": Case(frozenset({"rw"}), lambda d, tn: d.merges.merge([tn], into=OTHERS[tn]), _other),
    "split": Case(frozenset({"ro", "create"}), lambda d, tn: d.merges.split(tn, article=ARTICLES[tn]), _article),
    "set": Case(frozenset({"rw"}), lambda d, tn: d.tickets.set_fields([tn], {"env": "prod"})),
    "time": Case(frozenset({"ro"}), lambda d, tn: d.time_accounting.of(tn), refused=3),
}


def allowed(permission: str, command: str, owns: bool) -> bool:
    """The rule under test: rw implies all, otherwise the one held type must be all that is needed;
    a command on a ticket also needs to see it (``ro``, or being its owner)."""
    case = MATRIX[command]
    needs = case.needs | ({"ro"} if case.names_ticket and not owns else set())
    return permission == "rw" or needs <= {permission}


def refusal(permission: str, command: str, owns: bool) -> int:
    """The exit code of a refused command: 3 for a ticket the agent may not see, else the case's."""
    case = MATRIX[command]
    sees = permission in ("ro", "rw") or owns
    return 3 if case.refused == 4 and case.names_ticket and not sees else case.refused


def login_for(permission: str, holding: str) -> str:
    return f"{holding}-{permission}"


def _provision(url: str) -> None:
    """Groups support (queue Support) and target (queue Target); per permission one agent holding it
    directly and one holding it only through a role, on both groups."""
    root = Desk(url)
    root.fields.create("env", type="text")
    for group, queue in (("support", "Support"), ("target", "Target")):
        root.groups.create(group)
        root.queues.create(queue, group=group)
    root.templates.create("thanks", body="Thanks, <OTRS_CUSTOMER_REALNAME>.", queues=["Support"])
    for permission in PERMISSIONS:
        direct, via_role = login_for(permission, "direct"), login_for(permission, "role")
        root.agents.create(direct)
        root.agents.create(via_role)
        root.roles.create(f"only-{permission}")
        root.roles.add_agents(f"only-{permission}", [via_role])
        for group in ("support", "target"):
            root.acl.grant(permission, group=group, agent=direct)
            root.acl.grant(permission, group=group, role=f"only-{permission}")
    root.close()


@pytest.fixture(scope="module", params=BACKENDS)
def matrix_url(
    request: pytest.FixtureRequest,
    servers: dict[str, Server],
    sqlite_template: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Iterator[str]:
    """One provisioned desk per backend for the whole matrix."""
    if request.param == "sqlite":
        path = tmp_path_factory.mktemp("matrix") / "desk.db"
        shutil.copyfile(sqlite_template, path)
        url = f"sqlite:///{path}"
        _provision(url)
        yield url
        return
    server = _server_or_skip(servers, request.param)
    url = server.create()
    desk = Desk(url)
    desk.init()
    desk.close()
    _provision(url)
    yield url
    server.drop(url)


@pytest.fixture(scope="module")
def root(matrix_url: str) -> Iterator[Desk]:
    desk = Desk(matrix_url)
    yield desk
    desk.close()


def test_the_matrix_covers_every_ticket_verb() -> None:
    """A new ticket verb must be added to the matrix (and to the README's table)."""
    from tktctl.commands import ticket

    verbs = {c.name for c in ticket.app.registered_commands}
    assert verbs and verbs <= set(MATRIX), verbs - set(MATRIX)


@pytest.fixture(scope="module")
def agents(matrix_url: str) -> Iterator[dict[str, Desk]]:
    """A desk acting as each matrix agent, made once (engines are not free)."""
    desks = {login_for(p, h): Desk(matrix_url, actor=login_for(p, h)) for p in PERMISSIONS for h in HOLDINGS}
    yield desks
    for desk in desks.values():
        desk.close()


@pytest.mark.parametrize("holding", HOLDINGS)
@pytest.mark.parametrize("command", list(MATRIX))
@pytest.mark.parametrize("permission", PERMISSIONS)
def test_matrix(
    permission: str, command: str, holding: str, matrix_url: str, root: Desk, agents: dict[str, Desk]
) -> None:
    case, login = MATRIX[command], login_for(permission, holding)
    tn = root.tickets.create(queue="Support", title=f"{command} by {login}")["tn"]
    case.prepare(root, tn, login)
    owns = root.tickets.show(tn)["owner"] == login
    expected = allowed(permission, command, owns)
    if case.refused == 0:
        seen = case.run(agents[login], tn)
        assert seen is expected, f"{login} {'should' if expected else 'should not'} see {tn} in {command}"
        return
    if expected:
        case.run(agents[login], tn)
        return
    before = dump(matrix_url)
    code = refusal(permission, command, owns)
    with pytest.raises(TktctlError) as refused:
        case.run(agents[login], tn)
    assert refused.value.exit_code == code, refused.value.message
    if code == 4:
        named = re.search(r"needs '(\w+)' on group '(support|target)'", refused.value.message)
        assert named is not None and named.group(1) in case.needs - {permission}, refused.value.message
    else:
        assert refused.value.message == f"ticket {tn} not found"
    assert dump(matrix_url) == before


def test_exit_4_from_the_command_line_names_permission_and_group(
    matrix_url: str, root: Desk, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The matrix runs on the Python API for speed; the CLI maps the same refusal to exit 4, and a
    ticket the agent may not see to exactly what a missing ticket gives."""
    cli = Cli(matrix_url, monkeypatch)
    tn = root.tickets.create(queue="Support", title="cli")["tn"]
    before = dump(matrix_url)
    error = cli("--as", "role-ro", "ticket", "close", tn, "-o", "json", expect=4).error
    assert error == {
        "code": "permission_denied",
        "message": "permission denied: agent 'role-ro' needs 'rw' on group 'support'",
        "ref": "support",
    }
    missing = "1" + tn[1:] if not tn.startswith("1") else "2" + tn[1:]
    for verb in (["close"], ["lock"], ["note", "--body", "x"], ["move", "--to", "Target"], ["history"]):
        hidden = cli("--as", "role-note", "ticket", verb[0], tn, *verb[1:], expect=3)
        absent = cli("--as", "role-note", "ticket", verb[0], missing, *verb[1:], expect=3)
        assert hidden.stderr == absent.stderr.replace(missing, tn) == f"tktctl: error: ticket {tn} not found\n"
    assert dump(matrix_url) == before
    cli("--as", "role-ro", "ticket", "show", tn, expect=0)
    cli("--as", "role-note", "ticket", "show", tn, expect=3)
