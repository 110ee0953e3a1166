"""The help desk as a Python object: the domain services on one database, agent and clock.

``Desk`` is the library API that the command line is a thin face over::

    from tktctl import Desk
    desk = Desk("sqlite:///desk.db", actor="bob")
    ticket = desk.tickets.create(queue="Raw", title="Printer on fire")

Each public method runs in its own transaction (:meth:`Desk.write` / :meth:`Desk.read`), in
which every change and its history rows commit together or not at all. This is the top of the
domain: it may import every package, and none of them imports it. Each service is imported on
first use, so a command pays only for the packages it touches.
"""

from __future__ import annotations

from functools import cached_property
from typing import TYPE_CHECKING, Any

from tktctl.core.unit import NumberSettings, Store, Unit

if TYPE_CHECKING:
    from tktctl.access.acl import Acl
    from tktctl.access.agents import Agents
    from tktctl.access.audit import AuditLog
    from tktctl.access.customers import Customers
    from tktctl.access.groups import Groups, Roles
    from tktctl.automation.escalation import Escalations
    from tktctl.automation.jobs import Jobs
    from tktctl.automation.maint import Maintenance
    from tktctl.mail.autoresponses import AutoResponses
    from tktctl.mail.rules import NotificationRules
    from tktctl.mail.service import Mail
    from tktctl.setup.deskconfig import DeskConfig
    from tktctl.setup.fields import Fields
    from tktctl.setup.queues import Queues
    from tktctl.setup.texts import Addresses, Salutations, Signatures, Templates
    from tktctl.setup.types import TicketTypes
    from tktctl.sla.calendars import Calendars
    from tktctl.tickets.articles import Articles
    from tktctl.tickets.edits import Edits
    from tktctl.tickets.history import HistoryLog
    from tktctl.tickets.links import Links
    from tktctl.tickets.merge import Merges
    from tktctl.tickets.purge import Purge
    from tktctl.tickets.search import Search
    from tktctl.tickets.timeacct import TimeAccounts
    from tktctl.tickets.transfer import Transfer
    from tktctl.tickets.verbs import Tickets
    from tktctl.tickets.watch import Watchers

__all__ = ["Desk", "NumberSettings"]


class Desk(Store):
    """A help desk database and the agent acting on it, with every domain service on it."""

    def __init__(self, url: str, **settings: Any) -> None:
        super().__init__(url, **settings)
        from tktctl.core.vocabulary import NOTIFY_EVENTS

        notifier = _Notifier()
        for event in NOTIFY_EVENTS:
            self.subscribers[event] = [notifier]

    @cached_property
    def tickets(self) -> Tickets:
        from tktctl.tickets.verbs import Tickets

        return Tickets(self)

    @cached_property
    def edits(self) -> Edits:
        """`ticket update`: title, customer, type, responsible, external id."""
        from tktctl.tickets.edits import Edits

        return Edits(self.tickets)

    @cached_property
    def purge(self) -> Purge:
        """`ticket delete`: tickets and everything of them, with an audit entry."""
        from tktctl.tickets.purge import Purge

        return Purge(self.tickets)

    @cached_property
    def links(self) -> Links:
        """`ticket link`, `unlink`, `links`."""
        from tktctl.tickets.links import Links

        return Links(self)

    @cached_property
    def merges(self) -> Merges:
        """`ticket merge`, `ticket split`."""
        from tktctl.tickets.merge import Merges

        return Merges(self)

    @cached_property
    def search(self) -> Search:
        """Full-text search: ``desk.search.tickets("printer AND toner", fields="body", limit=10)``."""
        from tktctl.tickets.search import Search

        return Search(self)

    @cached_property
    def articles(self) -> Articles:
        """One article of a ticket, or the raw message it came as."""
        from tktctl.tickets.articles import Articles

        return Articles(self)

    @cached_property
    def watchers(self) -> Watchers:
        """Ticket watchers: `ticket watch|unwatch`."""
        from tktctl.tickets.watch import Watchers

        return Watchers(self, self.tickets)

    @cached_property
    def queues(self) -> Queues:
        from tktctl.setup.queues import Queues

        return Queues(self)

    @cached_property
    def agents(self) -> Agents:
        from tktctl.access.agents import Agents

        return Agents(self)

    @cached_property
    def history(self) -> HistoryLog:
        from tktctl.tickets.history import HistoryLog

        return HistoryLog(self)

    @cached_property
    def groups(self) -> Groups:
        from tktctl.access.groups import Groups

        return Groups(self)

    @cached_property
    def roles(self) -> Roles:
        from tktctl.access.groups import Roles

        return Roles(self)

    @cached_property
    def acl(self) -> Acl:
        from tktctl.access.acl import Acl

        return Acl(self)

    @cached_property
    def customers(self) -> Customers:
        from tktctl.access.customers import Customers

        return Customers(self)

    @cached_property
    def audit(self) -> AuditLog:
        from tktctl.access.audit import AuditLog

        return AuditLog(self)

    @cached_property
    def transfer(self) -> Transfer:
        from tktctl.tickets.transfer import Transfer

        return Transfer(self)

    @cached_property
    def mail(self) -> Mail:
        """Mail in and out; ``mail``/``smtp`` are the profile's sections of the same names."""
        from tktctl.mail.service import Mail

        return Mail(self, self.mail_config, self.smtp_config)

    @cached_property
    def notifications(self) -> NotificationRules:
        """Notification rules: which events mail whom (`notification apply|dump|list`)."""
        from tktctl.mail.rules import NotificationRules

        return NotificationRules(self)

    @cached_property
    def addresses(self) -> Addresses:
        from tktctl.setup.texts import Addresses

        return Addresses(self)

    @cached_property
    def salutations(self) -> Salutations:
        from tktctl.setup.texts import Salutations

        return Salutations(self)

    @cached_property
    def signatures(self) -> Signatures:
        from tktctl.setup.texts import Signatures

        return Signatures(self)

    @cached_property
    def templates(self) -> Templates:
        from tktctl.setup.texts import Templates

        return Templates(self)

    @cached_property
    def autoresponses(self) -> AutoResponses:
        from tktctl.mail.autoresponses import AutoResponses

        return AutoResponses(self)

    @cached_property
    def calendars(self) -> Calendars:
        from tktctl.sla.calendars import Calendars

        return Calendars(self)

    @cached_property
    def escalations(self) -> Escalations:
        from tktctl.automation.escalation import Escalations

        return Escalations(self)

    @cached_property
    def maint(self) -> Maintenance:
        from tktctl.automation.maint import Maintenance

        return Maintenance(self)

    @cached_property
    def jobs(self) -> Jobs:
        from tktctl.automation.jobs import Jobs

        return Jobs(self)

    @cached_property
    def types(self) -> TicketTypes:
        """Ticket types (OTRS Admin::TicketType)."""
        from tktctl.setup.types import TicketTypes

        return TicketTypes(self)

    @cached_property
    def fields(self) -> Fields:
        """Custom (dynamic) field definitions; values are set through ``tickets.set_fields``."""
        from tktctl.setup.fields import Fields

        return Fields(self)

    @cached_property
    def time_accounting(self) -> TimeAccounts:
        from tktctl.tickets.timeacct import TimeAccounts

        return TimeAccounts(self)

    @cached_property
    def config(self) -> DeskConfig:
        """The whole configuration as one document (``desk dump`` / ``desk apply``)."""
        from tktctl.setup.deskconfig import DeskConfig

        return DeskConfig(self)

    def migrated(self) -> None:
        """A desk older than the deadline columns has none: recompute them (Znuny's RebuildEscalationIndex)."""
        from tktctl.automation.maint import rebuild_escalations

        rebuild_escalations(self)


class _Notifier:
    """Mail's notification rules, subscribed to every event (email is loaded only when one fires)."""

    def wants(self, unit: Unit, event: str) -> bool:
        from tktctl.core.lookup import notification_rules

        return bool(notification_rules(unit, event))

    def __call__(self, unit: Unit, event: str, ticket_ids: Any, data: dict[str, Any]) -> None:
        from tktctl.mail import notify

        notify.Notifier()(unit, event, ticket_ids, data)
