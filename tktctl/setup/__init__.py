"""Desk configuration: queues and the whole-desk dump/apply document. The top domain package:
it may use every other.
"""
