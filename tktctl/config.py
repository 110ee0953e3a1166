"""Settings, resolved in the contract's order: flag, environment, config profile, default.

Kept free of heavy imports: every command, ``--help`` included, passes through here.
"""

from __future__ import annotations

import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from tktctl.errors import UsageError

ADMIN_LOGIN = "root@localhost"
PROFILE_KEYS = ("db", "agent", "output", "timezone", "ticket_number", "mail", "smtp")


def data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "tktctl"


def default_config_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "tktctl" / "config.yaml"


def default_db_url() -> str:
    return f"sqlite:///{data_dir() / 'tktctl.db'}"


def load_profile(path: Path, name: str, *, explicit: bool) -> dict[str, Any]:
    """The named profile of the YAML config, or ``{}`` when there is no config file.

    The file holds ``profiles: {NAME: {db: ..., agent: ..., output: ...}}``; an explicitly
    named file or profile that is missing is an error, the implicit defaults are not.
    """
    if not path.exists():
        if explicit:
            raise UsageError(f"config file {path} does not exist")
        return {}
    from tktctl import yamlload

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise UsageError(f"cannot read config file {path}: {exc}") from exc
    document = yamlload.load(text, str(path)) or {}
    profiles = document.get("profiles", {}) if isinstance(document, dict) else None
    if not isinstance(profiles, dict):
        raise UsageError(f"config file {path}: 'profiles' must be a mapping of profile names")
    if name not in profiles:
        if name == "default":
            return {}
        raise UsageError(f"config file {path} has no profile {name!r}; it has: {', '.join(profiles) or 'none'}")
    profile = profiles[name] or {}
    unknown = sorted(set(profile) - set(PROFILE_KEYS))
    if unknown:
        raise UsageError(
            f"profile {name!r} in {path}: unknown key {', '.join(unknown)}; known: {', '.join(PROFILE_KEYS)}"
        )
    return profile


@dataclass(frozen=True)
class Settings:
    """Everything one invocation needs, resolved once in the root callback."""

    db: str
    agent: str
    output: str = "table"
    fields: str | None = None
    debug: bool = False
    profile: dict[str, Any] = field(default_factory=dict)

    def with_output(self, output: str | None, fields: str | None, quiet: bool) -> Settings:
        """Apply output options given after the verb (they win over the global ones)."""
        if quiet:
            output = "ids"
        return replace(self, output=output or self.output, fields=fields or self.fields)


def resolve(
    *,
    db: str | None,
    config: str | None,
    profile: str | None,
    agent: str | None,
    output: str | None,
    fields: str | None,
    quiet: bool,
    debug: bool,
) -> Settings:
    """Flags and environment arrive already merged (Typer's envvar); fill the rest from the profile."""
    path = Path(config) if config else default_config_path()
    values = load_profile(path, profile or "default", explicit=bool(config) or bool(profile))
    chosen_output = "ids" if quiet else (output or values.get("output") or "table")
    return Settings(
        db=db or values.get("db") or default_db_url(),
        agent=agent or values.get("agent") or ADMIN_LOGIN,
        output=str(chosen_output),
        fields=fields,
        debug=debug,
        profile=values,
    )
