"""The OTRS default vocabulary that ``tktctl init`` creates (the contract, section 8).

Inserts only what is missing, so ``init`` can be rerun and repairs a half-set-up desk.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from tktctl.config import ADMIN_LOGIN
from tktctl.db.default_texts import AUTO_RESPONSES, NOTIFICATION_TEXTS, translations
from tktctl.db.models import (
    Agent,
    AgentGrant,
    AutoResponse,
    AutoResponseText,
    Counter,
    Group,
    NotificationRule,
    Priority,
    Queue,
    State,
    StateType,
    TicketType,
)

STATE_TYPES = ("new", "open", "closed", "pending reminder", "pending auto", "removed", "merged")
STATES = (
    ("new", "new"),
    ("open", "open"),
    ("closed successful", "closed"),
    ("closed unsuccessful", "closed"),
    ("pending reminder", "pending reminder"),
    ("pending auto close+", "pending auto"),
    ("pending auto close-", "pending auto"),
    ("removed", "removed"),
    ("merged", "merged"),
)
PRIORITIES = ((1, "1 very low"), (2, "2 low"), (3, "3 normal"), (4, "4 high"), (5, "5 very high"))
GROUPS = (
    ("users", "Group for default access."),
    ("admin", "Group of all administrators."),
    ("stats", "Group for statistics access."),
)
# As OTRS: the admin agent holds rw in each default group.
ADMIN_GRANTS = (("admin", "rw"), ("users", "rw"), ("stats", "rw"))
QUEUES = (
    ("Postmaster", "users", "Default queue for all incoming mail."),
    ("Raw", "users", "All new tickets are placed in this queue by default."),
    ("Junk", "users", "Queue for spam and junk mail."),
    ("Misc", "users", "Queue for all other tickets."),
)
# The notification rules a new desk starts with (revision 0012): today's mail before the rules existed,
# in English with Spanish and German translations (0013). Later edits are the admin's (`notification
# apply`); `init` writes them only into a desk with none.
_RULES: list[dict[str, Any]] = [
    {"name": "new-ticket", "events": ["TicketCreate"], "recipients": ["queue_subscribers"]},
    {
        "name": "follow-up",
        "events": ["ArticleCreate"],
        "article_sender": ["customer"],
        "recipients": ["queue_subscribers"],
    },
    {"name": "escalation", "events": ["EscalationWarning", "EscalationBreach"], "recipients": ["queue_subscribers"]},
    {"name": "pending-reminder", "events": ["PendingReminder"], "recipients": ["owner"]},
    {"name": "lock-timeout", "events": ["LockTimeout"], "recipients": ["owner"]},
]
NOTIFICATION_RULES = [
    {
        **rule,
        **NOTIFICATION_TEXTS[rule["name"]]["en"],
        "language": "en",
        "translations": translations(NOTIFICATION_TEXTS[rule["name"]]),
    }
    for rule in _RULES
]
# OTRS's default ticket type.
TICKET_TYPES = (("Unclassified", "Default ticket type."),)


def ensure_defaults(session: Session, now: datetime) -> list[str]:
    """Create whatever default rows are missing; returns what was created, as 'kind name'."""
    created: list[str] = []

    def missing(model: type, column: str, names: list[str]) -> set[str]:
        have = set(session.scalars(select(getattr(model, column)).where(getattr(model, column).in_(names))))
        return {n for n in names if n not in have}

    for name in sorted(missing(StateType, "name", list(STATE_TYPES)), key=STATE_TYPES.index):
        session.add(StateType(name=name))
        created.append(f"state type {name}")
    session.flush()
    type_ids = dict(session.execute(select(StateType.name, StateType.id)).all())
    wanted = [s for s, _ in STATES]
    for name, type_name in STATES:
        if name in missing(State, "name", wanted):
            session.add(State(name=name, type_id=type_ids[type_name], valid=True))
            created.append(f"state {name}")
    have_priorities = set(session.scalars(select(Priority.id)))
    for pid, name in PRIORITIES:
        if pid not in have_priorities:
            session.add(Priority(id=pid, name=name))
            created.append(f"priority {name}")
    for name in sorted(missing(Group, "name", [g for g, _ in GROUPS])):
        comment = dict(GROUPS)[name]
        session.add(Group(name=name, comment=comment, valid=True, created=now, changed=now))
        created.append(f"group {name}")
    if missing(Agent, "login", [ADMIN_LOGIN]):
        session.add(Agent(login=ADMIN_LOGIN, name="Admin OTRS", email=None, valid=True, created=now, changed=now))
        created.append(f"agent {ADMIN_LOGIN}")
    session.flush()
    group_ids = dict(session.execute(select(Group.name, Group.id)).all())
    for name in sorted(missing(Queue, "name", [q for q, _, _ in QUEUES])):
        _, group, comment = next(q for q in QUEUES if q[0] == name)
        session.add(
            Queue(
                name=name,
                group_id=group_ids[group],
                follow_up="possible",
                comment=comment,
                valid=True,
                created=now,
                changed=now,
            )
        )
        created.append(f"queue {name}")
    admin_id = session.scalar(select(Agent.id).where(Agent.login == ADMIN_LOGIN))
    for group, permission in ADMIN_GRANTS:
        if session.get(AgentGrant, (group_ids[group], admin_id, permission)) is None:
            session.add(AgentGrant(group_id=group_ids[group], agent_id=admin_id, permission=permission))
            created.append(f"grant {permission} on {group} to {ADMIN_LOGIN}")
    for name in sorted(missing(TicketType, "name", [t for t, _ in TICKET_TYPES])):
        comment = dict(TICKET_TYPES)[name]
        session.add(TicketType(name=name, comment=comment, valid=True, created=now, changed=now))
        created.append(f"ticket type {name}")
    if session.scalar(select(NotificationRule.id).limit(1)) is None:
        for rule in NOTIFICATION_RULES:
            session.add(NotificationRule(name=rule["name"], definition=rule, created=now, changed=now))
            created.append(f"notification rule {rule['name']}")
    for name in sorted(missing(AutoResponse, "name", [r["name"] for r in AUTO_RESPONSES])):
        shipped = next(r for r in AUTO_RESPONSES if r["name"] == name)
        own = {"type": shipped["type"], **shipped["texts"]["en"], "language": "en"}
        response = AutoResponse(name=name, **own, valid=True, created=now, changed=now)
        session.add(response)
        session.flush()
        for language, text in translations(shipped["texts"]).items():
            session.add(AutoResponseText(auto_response_id=response.id, language=language, **text))
        created.append(f"auto-response {name}")
    if session.get(Counter, "ticket") is None:
        session.add(Counter(name="ticket", day="", value=0))
        created.append("ticket number counter")
    session.flush()
    return created
