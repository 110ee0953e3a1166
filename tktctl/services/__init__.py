"""The domain: tickets, queues, agents, history, numbering, permissions, time input.

No Typer and no printing here: this is the Python API, and the command line calls it.
"""
