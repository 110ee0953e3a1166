"""Service levels: business calendars, working-time arithmetic and the escalation deadlines
that every ticket change refreshes. Uses access and the core.
"""
