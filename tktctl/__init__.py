"""tktctl: command-line administration and scripting for an OTRS-style help desk.

The library API lives in :mod:`tktctl.api`; importing this package stays cheap so that the
command line starts fast.
"""

__version__ = "0.1.0"
