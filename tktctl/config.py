"""Settings, resolved in the contract's order: flag, environment, config profile, default.

Kept free of heavy imports: every command, ``--help`` included, passes through here.
"""

from __future__ import annotations

import functools
import os
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any

from tktctl.errors import UsageError

ADMIN_LOGIN = "root@localhost"
# What a config file may hold: ``profiles`` at the top, these keys in a profile, and their types.
CONFIG_KEYS = ("profiles",)
PROFILE_TYPES: dict[str, type] = {
    "db": str,
    "agent": str,
    "output": str,
    "timezone": str,
    "ticket_number": dict,
    "mail": dict,
    "smtp": dict,
    "max_body_bytes": int,
    # The warm command server (tktctl/server): "auto" uses it (starting it when needed), "off" not.
    "server": str,
}
SERVER_MODES = ("auto", "off")
PROFILE_KEYS = tuple(PROFILE_TYPES)
TICKET_NUMBER_KEYS = ("generator", "system_id")


def data_dir() -> Path:
    base = os.environ.get("XDG_DATA_HOME") or str(Path.home() / ".local" / "share")
    return Path(base) / "tktctl"


def default_config_path() -> Path:
    return _config_path(os.environ.get("XDG_CONFIG_HOME"), os.environ.get("HOME"))


@functools.lru_cache(maxsize=8)
def _config_path(xdg_config_home: str | None, home: str | None) -> Path:
    """Made once per environment: every command, and every `batch` line, asks (~0.1 ms of path objects)."""
    base = xdg_config_home or str(Path.home() / ".config")  # Path.home() reads HOME
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
    if not isinstance(document, dict):
        raise UsageError(f"config file {path}: expected a mapping with 'profiles', not a {_kind(document)}")
    _known(f"config file {path}", document, CONFIG_KEYS)
    profiles = document.get("profiles") or {}
    if not isinstance(profiles, dict):
        raise UsageError(f"config file {path}: 'profiles' must be a mapping of profile names")
    # Every profile is checked, not only the chosen one: a typo shows on the first run, not the day it is used.
    checked = {str(key): _checked_profile(path, str(key), value) for key, value in profiles.items()}
    if name not in checked:
        if name == "default":
            return {}
        raise UsageError(f"config file {path} has no profile {name!r}; it has: {', '.join(checked) or 'none'}")
    return checked[name]


def _checked_profile(path: Path, name: str, profile: Any) -> dict[str, Any]:
    """The profile, type-checked: every key known, every value of its key's type."""
    where = f"profile {name!r} in {path}"
    profile = {} if profile is None else profile
    if not isinstance(profile, dict):
        raise UsageError(f"{where} must be a mapping of settings ({', '.join(PROFILE_KEYS)}), not a {_kind(profile)}")
    _known(where, profile, PROFILE_KEYS)
    for key, value in profile.items():
        if value is not None and not isinstance(value, PROFILE_TYPES[key]):
            wanted = "a mapping" if PROFILE_TYPES[key] is dict else "a string"
            raise UsageError(f"{where}: {key!r} must be {wanted}, not a {_kind(value)}")
    if profile.get("server") not in (None, *SERVER_MODES):
        raise UsageError(f"{where}: 'server' must be one of {', '.join(SERVER_MODES)}, not {profile['server']!r}")
    numbering = profile.get("ticket_number") or {}
    _known(f"{where}, key ticket_number", numbering, TICKET_NUMBER_KEYS)
    for key, value in numbering.items():
        if isinstance(value, (dict, list, bool)) or value is None:
            raise UsageError(f"{where}: ticket_number {key!r} must be a string, not a {_kind(value)}")
    return profile


def _known(where: str, mapping: dict[Any, Any], keys: tuple[str, ...]) -> None:
    unknown = sorted(str(k) for k in set(mapping) - set(keys))
    if unknown:
        raise UsageError(f"{where}: unknown key {', '.join(unknown)}; known: {', '.join(keys)}")


def _kind(value: Any) -> str:
    """A YAML value's kind as the user wrote it."""
    names = {dict: "mapping", list: "list", str: "string", bool: "boolean", int: "number", float: "number"}
    return "null" if value is None else names.get(type(value), type(value).__name__)


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
