"""The texts a new desk ships in English, Spanish and German (revision 0013): OTRS's four default
auto-responses, and the translations of the default notification rules (db/defaults.py).

Placeholders are the templates' ``$tn``, ``$title``, ``$queue``, ``$subject`` ...; the ticket's
language (core/language.ticket_language) or the agent's chooses the text when one is sent.
"""

from __future__ import annotations

from typing import Any

_SHOW = {
    "en": "\n\nTicket: $tn\nTitle: $title\nCustomer: $customer\n\nShow it with: tktctl ticket show $tn\n",
    "es": "\n\nTicket: $tn\nTítulo: $title\nCliente: $customer\n\nPara verlo: tktctl ticket show $tn\n",
    "de": "\n\nTicket: $tn\nTitel: $title\nKunde: $customer\n\nAnzeigen mit: tktctl ticket show $tn\n",
}
_ANSWER = {
    "en": "We will get back to you as soon as possible.\n",
    "es": "Le responderemos lo antes posible.\n",
    "de": "Wir melden uns so bald wie möglich.\n",
}


def _texts(subjects: dict[str, str], bodies: dict[str, str], show: bool = False) -> dict[str, dict[str, str]]:
    return {k: {"subject": subjects[k], "body": bodies[k] + (_SHOW[k] if show else "")} for k in ("en", "es", "de")}


# OTRS's default auto-responses (its initial data), by name; none is sent until a queue is given it
# (`queue update Q --auto-response NAME`). Their own text is English; Spanish and German are translations.
AUTO_RESPONSES: list[dict[str, Any]] = [
    {
        "name": "default reply (after new ticket has been created)",
        "type": "auto-reply",
        "texts": _texts(
            {"en": "RE: $subject", "es": "RE: $subject", "de": "AW: $subject"},
            {
                "en": "Thank you for your email.\n\nYour request has been registered as ticket $tn. " + _ANSWER["en"],
                "es": "Gracias por su correo.\n\nSu solicitud se ha registrado como ticket $tn. " + _ANSWER["es"],
                "de": "Vielen Dank für Ihre E-Mail.\n\nIhre Anfrage wurde als Ticket $tn erfasst. " + _ANSWER["de"],
            },
        ),
    },
    {
        "name": "default reject (after follow-up and rejected of a closed ticket)",
        "type": "auto-reject",
        "texts": _texts(
            {"en": "Rejected: $subject", "es": "Rechazado: $subject", "de": "Abgewiesen: $subject"},
            {
                "en": "Your email has been rejected: ticket $tn is closed and takes no follow-ups.\n\n"
                "Please write a new email, without the ticket number in the subject, if you need more help.\n",
                "es": "Su correo ha sido rechazado: el ticket $tn está cerrado y no admite respuestas.\n\n"
                "Si necesita más ayuda, escriba un nuevo correo sin el número de ticket en el asunto.\n",
                "de": "Ihre E-Mail wurde abgewiesen: Ticket $tn ist geschlossen und nimmt keine Nachfragen an.\n\n"
                "Wenn Sie weitere Hilfe brauchen, schreiben Sie bitte eine neue E-Mail ohne die Ticketnummer "
                "im Betreff.\n",
            },
        ),
    },
    {
        "name": "default follow-up (after a ticket follow-up has been added)",
        "type": "auto-follow-up",
        "texts": _texts(
            {"en": "RE: $subject", "es": "RE: $subject", "de": "AW: $subject"},
            {
                "en": "Thank you for your email.\n\nYour message has been added to ticket $tn. " + _ANSWER["en"],
                "es": "Gracias por su correo.\n\nSu mensaje se ha añadido al ticket $tn. " + _ANSWER["es"],
                "de": "Vielen Dank für Ihre E-Mail.\n\nIhre Nachricht wurde zu Ticket $tn hinzugefügt. "
                + _ANSWER["de"],
            },
        ),
    },
    {
        "name": "default reject/new ticket created (after closed follow-up with new ticket creation)",
        "type": "auto-reply/new-ticket",
        "texts": _texts(
            {"en": "RE: $subject", "es": "RE: $subject", "de": "AW: $subject"},
            {
                "en": "Your earlier ticket was closed, so your email has been registered as a new ticket, $tn. "
                + _ANSWER["en"],
                "es": "Su ticket anterior estaba cerrado, así que su correo se ha registrado como un nuevo ticket, "
                "$tn. " + _ANSWER["es"],
                "de": "Ihr früheres Ticket war bereits geschlossen; Ihre E-Mail wurde daher als neues Ticket $tn "
                "erfasst. " + _ANSWER["de"],
            },
        ),
    },
]

# The default notification rules' texts by rule name: English is the rules' own text.
NOTIFICATION_TEXTS: dict[str, dict[str, dict[str, str]]] = {
    "new-ticket": _texts(
        {"en": "NewTicket: $title", "es": "Nuevo ticket: $title", "de": "Neues Ticket: $title"},
        {"en": "NewTicket in queue $queue", "es": "Nuevo ticket en la cola $queue", "de": "Neues Ticket in $queue"},
        show=True,
    ),
    "follow-up": _texts(
        {"en": "FollowUp: $title", "es": "Respuesta del cliente: $title", "de": "Nachfrage: $title"},
        {
            "en": "FollowUp in queue $queue",
            "es": "Respuesta del cliente en la cola $queue",
            "de": "Kundennachfrage in $queue",
        },
        show=True,
    ),
    "escalation": _texts(
        {"en": "$event: $title", "es": "$event: $title", "de": "$event: $title"},
        {"en": "$event in queue $queue", "es": "$event en la cola $queue", "de": "$event in $queue"},
        show=True,
    ),
    "pending-reminder": _texts(
        {"en": "PendingReminder: $title", "es": "Recordatorio: $title", "de": "Erinnerung: $title"},
        {
            "en": "The pending time of ticket $tn has been reached ($pending_until).",
            "es": "Se ha alcanzado la fecha de espera del ticket $tn ($pending_until).",
            "de": "Die Wartezeit von Ticket $tn ist erreicht ($pending_until).",
        },
        show=True,
    ),
    "lock-timeout": _texts(
        {"en": "LockTimeout: $title", "es": "Bloqueo vencido: $title", "de": "Sperre abgelaufen: $title"},
        {
            "en": "Ticket $tn was unlocked: its unlock timeout in queue $queue passed.",
            "es": "El ticket $tn se ha desbloqueado: venció su tiempo de bloqueo en la cola $queue.",
            "de": "Ticket $tn wurde entsperrt: seine Sperrzeit in $queue ist abgelaufen.",
        },
        show=True,
    ),
}


def translations(texts: dict[str, dict[str, str]]) -> dict[str, dict[str, str]]:
    """The Spanish and German texts of a shipped text (English is its own)."""
    return {k: v for k, v in texts.items() if k != "en"}
