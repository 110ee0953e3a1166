"""Mail in and out: parsing, ingest (new tickets and follow-ups), auto-responses, notifications,
the outbox, SMTP sending and POP3/IMAP fetching. Uses tickets, sla, access and the core.
"""
