"""Work that runs from cron: the escalation run, maintenance and saved jobs. Uses mail,
tickets, sla, access and the core.
"""
