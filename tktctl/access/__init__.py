"""Who may do what: agents, customers, groups, roles, grants, permission checks, passwords
and the audit trail. Uses only the core.
"""
