"""The bottom of the domain: the unit of work (engine, session, acting agent, clock), time
input, the OTRS vocabulary and the lookups every package shares. Imports no other domain package.
"""
