"""A warm command server, as Mercurial's chg: one pre-loaded process forks a child per command.

- :mod:`tktctl.server.client` (standard library only) is what the ``tktctl`` launcher runs when
  the server is enabled (``TKTCTL_SERVER=auto`` or ``server: auto`` in the profile): it hands
  argv, environment, working directory, umask and its fds 0/1/2 over a Unix socket, forwards
  signals to the child and exits as the child did; on any failure the command runs in-process.
- :mod:`tktctl.server.daemon` is the server: pre-imported, no database connection, one forked
  child per request, idle timeout, gone when the installation or the config file changes.
- :mod:`tktctl.server.control` serves ``tktctl server start|stop|status``.
"""
