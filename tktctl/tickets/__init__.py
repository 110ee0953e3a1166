"""Tickets: numbers, the change primitives with their history rows, the verbs, selection,
records, import and export. Uses sla, access and the core; never mail.
"""
