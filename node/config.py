"""Node settings: `civicnode.toml` in the data directory, overridden by CIVICNODE_* variables.

Every setting has a default so that a fresh `civicnode init` works on SQLite with no editing.
Environment variables win over the file so that containers and systemd units can set secrets
without writing them to disk.
"""
from __future__ import annotations

import dataclasses
import os
import secrets
import tomllib
from dataclasses import dataclass, field, fields
from pathlib import Path

import tomli_w

CONFIG_NAME = "civicnode.toml"
LOCALES = ("fr", "en", "es", "ca")
ENV_PREFIX = "CIVICNODE_"


class ConfigError(Exception):
    """A setting is missing or malformed; the message says which and how to fix it."""


@dataclass
class Settings:
    data_dir: Path
    # Public base URL of the node, without trailing slash. Empty means "the address we bind to",
    # which is right for development and wrong for production (set https://your.domain).
    base_url: str = ""
    database_url: str = ""
    secret_key: str = ""
    node_name: str = "civicnode"
    default_locale: str = "en"
    theme: str = "default"
    themes_dir: str = ""
    registration_open: bool = True
    # Login throttling: this many failures per account or per address inside the window lock
    # further attempts until the window has passed.
    login_max_failures: int = 5
    login_window_seconds: int = 900
    password_reset_ttl_seconds: int = 3600
    session_ttl_seconds: int = 14 * 24 * 3600
    smtp_host: str = ""
    smtp_port: int = 25
    smtp_user: str = ""
    smtp_password: str = ""
    smtp_starttls: bool = False
    mail_from: str = ""
    # Federation with nodes on private addresses (a LAN, the test suite, the demo).
    allow_private_addresses: bool = False
    # "open": federate with any host not blocked; "allowlist": only with hosts an admin allowed.
    federation_mode: str = "open"
    max_body_bytes: int = 1024 * 1024
    # Outgoing federation (docs/FEDERATION.md, "Delivery"): the worker runs inside `serve`
    # unless this is false (then run `civicnode worker`); POSTs in flight, in all and per host.
    delivery_in_process: bool = True
    delivery_concurrency: int = 16
    delivery_per_host: int = 4
    # A commit in this process wakes its worker at once; deliveries queued by other processes
    # (a second `serve`, `civicnode` commands) wait for the next look, this many seconds apart.
    delivery_poll_seconds: int = 2
    # Peers whose X-Forwarded-For is believed (the reverse proxy in front of the node). Anything
    # else would let a client choose its own address and escape per-address login throttling.
    trusted_proxies: list = field(default_factory=lambda: ["127.0.0.1", "::1"])
    # Public pages served to anonymous visitors are kept this many seconds (node.web.cache):
    # changes made in this process show at once, those of other processes (a second `serve`,
    # `civicnode worker`) and of time (phase dates) within it. 0 turns the cache off.
    page_cache_seconds: int = 5
    page_cache_entries: int = 512
    moderation_hide_threshold: int = 3  # reports that hide an item until a moderator decides
    # Verification (node.verification): days an authorisation holds once granted, per handler
    # (0: until revoked), and failed census checks or confirmation mails per account per day.
    census_validity_days: int = 365
    manual_validity_days: int = 0
    email_domain_validity_days: int = 365
    verification_max_attempts: int = 5
    extra: dict = field(default_factory=dict)

    @property
    def secure_cookies(self) -> bool:
        return self.base_url.startswith("https://")

    def resolved_themes_dir(self) -> Path:
        if self.themes_dir:
            return Path(self.themes_dir)
        return Path(__file__).resolve().parent.parent / "themes"


def _coerce(name: str, raw: str, kind: type):
    if kind is bool:
        if raw.lower() in ("1", "true", "yes", "on"):
            return True
        if raw.lower() in ("0", "false", "no", "off"):
            return False
        raise ConfigError(f"{ENV_PREFIX}{name.upper()} must be true or false, not {raw!r}")
    if kind is list:
        return [item.strip() for item in raw.split(",") if item.strip()]
    if kind is int:
        try:
            return int(raw)
        except ValueError:
            raise ConfigError(f"{ENV_PREFIX}{name.upper()} must be a whole number, not {raw!r}") from None
    return raw


def _field_types() -> dict[str, type]:
    hints = {"str": str, "int": int, "bool": bool, "list": list}
    return {f.name: hints.get(f.type, str) for f in fields(Settings) if f.name not in ("data_dir", "extra")}


def load_settings(data_dir: str | os.PathLike, environ: dict | None = None) -> Settings:
    """Read the data dir's config file and apply environment overrides."""
    environ = os.environ if environ is None else environ
    data = Path(data_dir).resolve()
    if not data.is_dir():
        raise ConfigError(f"data directory {data} does not exist; create it with `civicnode init --data {data}`")
    path = data / CONFIG_NAME
    if not path.is_file():
        raise ConfigError(f"{path} is missing; run `civicnode init --data {data}` first")
    try:
        values = tomllib.loads(path.read_text(encoding="utf-8"))
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path} is not valid TOML: {exc}") from None
    types = _field_types()
    known = {k: v for k, v in values.items() if k in types}
    extra = {k: v for k, v in values.items() if k not in types}
    for name, kind in types.items():
        raw = environ.get(ENV_PREFIX + name.upper())
        if raw is not None:
            known[name] = _coerce(name, raw, kind)
    for name, value in known.items():
        if not isinstance(value, types[name]):
            raise ConfigError(f"{path}: {name} must be a {types[name].__name__}, not {value!r}")
    settings = Settings(data_dir=data, extra=extra, **known)
    return finish(settings)


def finish(settings: Settings) -> Settings:
    """Fill derived defaults and validate."""
    if not settings.database_url:
        settings.database_url = f"sqlite+aiosqlite:///{settings.data_dir / 'civicnode.db'}"
    if not settings.secret_key:
        raise ConfigError(f"secret_key is empty in {settings.data_dir / CONFIG_NAME}; re-run `civicnode init`")
    if settings.default_locale not in LOCALES:
        raise ConfigError(f"default_locale must be one of {', '.join(LOCALES)}, not {settings.default_locale!r}")
    if settings.federation_mode not in ("open", "allowlist"):
        raise ConfigError(f"federation_mode must be open or allowlist, not {settings.federation_mode!r}")
    settings.base_url = settings.base_url.rstrip("/")
    if settings.base_url and not settings.base_url.startswith(("http://", "https://")):
        raise ConfigError(f"base_url must start with https:// (or http:// for development), not {settings.base_url!r}")
    return settings


def write_initial_config(data_dir: Path, **overrides) -> Path:
    """Write a fresh config file with a new secret. Refuses to overwrite an existing one."""
    path = data_dir / CONFIG_NAME
    if path.exists():
        raise ConfigError(f"{path} already exists; refusing to overwrite it")
    values = {
        "node_name": "civicnode",
        "base_url": "",
        "default_locale": "en",
        "theme": "default",
        "secret_key": secrets.token_urlsafe(48),
    }
    values.update({k: v for k, v in overrides.items() if v is not None})
    path.write_text(
        "# civicnode settings. Any key can be overridden by CIVICNODE_<KEY> in the environment.\n"
        "# database_url defaults to SQLite in this directory; for PostgreSQL use\n"
        "# postgresql+asyncpg://user:password@host/dbname\n" + tomli_w.dumps(values),
        encoding="utf-8",
    )
    path.chmod(0o600)
    return path


def replace(settings: Settings, **changes) -> Settings:
    return dataclasses.replace(settings, **changes)
