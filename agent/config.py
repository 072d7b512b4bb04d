"""Settings from a TOML file and flags; secrets only from a file or the environment.

Every setting is a TOML key and a flag of the same name (``workspace_id`` and
``--workspace-id``); a flag wins over the file. Secrets (the workspace shared
key, the client secret) are never settings themselves: only the file or the
environment variable that holds them is, so they never pass through argv.
"""

from __future__ import annotations

import os
import re
import stat
import tomllib
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from .records import Category

__all__ = [
    "API_DATA_COLLECTOR",
    "API_LOGS_INGESTION",
    "CLOUDS",
    "ConfigError",
    "Secret",
    "Settings",
    "load_settings",
    "read_secret",
]

API_DATA_COLLECTOR = "data-collector"
API_LOGS_INGESTION = "logs-ingestion"


@dataclass(frozen=True)
class Cloud:
    """Where a sovereign cloud's endpoints live (spec azure-ingestion.md §2.1, §3.1)."""

    dca_domain: str
    authority: str
    scope: str


CLOUDS = {
    "public": Cloud(
        "ods.opinsights.azure.com",
        "https://login.microsoftonline.com",
        "https://monitor.azure.com/.default",
    ),
    "usgov": Cloud(
        "ods.opinsights.azure.us",
        "https://login.microsoftonline.us",
        "https://monitor.azure.us/.default",
    ),
    "china": Cloud(
        "ods.opinsights.azure.cn",
        "https://login.chinacloudapi.cn",
        "https://monitor.azure.cn/.default",
    ),
}
_LOG_TYPE = re.compile(r"[A-Za-z0-9_]{1,100}")
#: A long run of base64 or client-secret characters not starting like a path
#: (workspace keys are 88 characters, client secrets about 40).
_LOOKS_LIKE_SECRET = re.compile(r"[A-Za-z0-9+=_~\-][A-Za-z0-9+/=_~.\-]{39,}")
_GUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")


class ConfigError(ValueError):
    """A setting is missing or wrong; the message says which and how to fix it."""


class Secret:
    """A secret value that never shows itself in ``repr``, ``str`` or f-strings."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret(*****)"

    __str__ = __repr__

    def __format__(self, spec: str) -> str:
        return repr(self)


def read_secret(path: str | None, env: str, what: str) -> Secret:
    """Read a secret from ``path`` (owner-only) or else the environment variable."""
    if path:
        file = Path(path)
        try:
            mode = file.stat().st_mode
            if mode & (stat.S_IRWXG | stat.S_IRWXO):
                raise ConfigError(
                    f"the {what} file {path!r} is accessible to group or others "
                    f"(mode {stat.filemode(mode)}); run 'chmod 600 {path}' and retry"
                )
            text = file.read_text(encoding="utf-8").strip()
        except OSError as err:
            if _LOOKS_LIKE_SECRET.fullmatch(path):
                # Never echo it: the user may have given the secret itself.
                raise ConfigError(
                    f"the {what} file does not exist, and the value given looks like "
                    "a secret rather than a path; secrets never go on the command "
                    "line: put it in an owner-only file and give that file's path"
                ) from None
            raise ConfigError(
                f"cannot read the {what} file {path!r} ({err.strerror}); "
                "check the path and that this user may read it"
            ) from None
        except UnicodeDecodeError:
            raise ConfigError(f"the {what} file {path!r} is not text") from None
        if not text:
            raise ConfigError(f"the {what} file {path!r} is empty")
        return Secret(text)
    value = os.environ.get(env, "").strip()
    if not value:
        raise ConfigError(
            f"no {what}: give its file in the settings or set the environment "
            f"variable {env} (secrets are never taken from the command line)"
        )
    return Secret(value)


def _default_spool() -> str:
    state = os.environ.get("XDG_STATE_HOME") or str(Path.home() / ".local" / "state")
    return str(Path(state) / "secrmm-agent" / "spool.db")


def _setting(default: Any, help: str) -> Any:
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True, kw_only=True)
class Settings:
    """Every setting; each one's help is what ``secrmm-agent --help`` shows."""

    api: str = _setting(
        "", "data-collector or logs-ingestion (default: LIA if dcr_id is set)"
    )
    cloud: str = _setting(
        "public", "public, usgov or china: DCA domain, token authority, scope"
    )
    workspace_id: str = _setting("", "DCA: the workspace GUID")
    shared_key_file: str = _setting(
        "", "DCA: owner-only file holding the base64 shared key"
    )
    shared_key_env: str = _setting(
        "SECRMM_SHARED_KEY", "DCA: environment variable holding the key if no file"
    )
    endpoint: str = _setting(
        "",
        "DCA: base URL instead of https://<id>.<domain>; LIA: the DCE or DCR endpoint",
    )
    log_type: str = _setting("secRMM", "DCA Log-Type, LIA table prefix (<log_type>_CL)")
    dcr_id: str = _setting("", "LIA: data collection rule immutable id (dcr-...)")
    stream: str = _setting("", "LIA: stream name (default Custom-<log_type>_CL)")
    tenant_id: str = _setting("", "LIA: Microsoft Entra tenant of the application")
    client_id: str = _setting("", "LIA: application (client) id")
    client_secret_file: str = _setting(
        "", "LIA: owner-only file holding the client secret"
    )
    client_secret_env: str = _setting(
        "SECRMM_CLIENT_SECRET",
        "LIA: environment variable holding the client secret if no file",
    )
    authority: str = _setting(
        "", "LIA: token authority base URL (default: the cloud's Entra ID)"
    )
    ca_bundle: str = _setting(
        "", "CA bundle to verify TLS with (default: the system's)"
    )
    categories: tuple[str, ...] = _setting(
        tuple(category.value for category in Category),
        "forwarded categories, comma-separated (default: all six)",
    )
    spool: str = field(
        default_factory=_default_spool,
        metadata={"help": "spool file (default ~/.local/state/secrmm-agent/spool.db)"},
    )
    fsync: bool = _setting(True, "fsync each spool commit before acknowledging records")
    batch_records: int = _setting(5000, "records per request at most")
    batch_bytes: int = _setting(
        10_000_000,
        "bytes per request at most; capped at 30,000,000 (DCA), 1,000,000 (LIA)",
    )
    linger: float = _setting(0.2, "seconds a partial batch waits to fill")
    concurrency: int = _setting(
        1,
        "requests in flight at once; a crash can re-send one batch per request "
        "in flight, so more than 1 trades that bound for throughput on slow links",
    )
    connect_timeout: float = _setting(10.0, "seconds to connect")
    read_timeout: float = _setting(60.0, "seconds to wait for an answer")
    backoff_base: float = _setting(
        0.5, "first backoff ceiling in seconds (doubles per try)"
    )
    backoff_cap: float = _setting(60.0, "largest backoff ceiling in seconds")
    hold_attempts: int = _setting(
        3, "tries after an auth/config fault, re-reading secrets, before holding"
    )
    hold_seconds: float = _setting(
        5.0, "first wait after an auth/config fault (doubles)"
    )
    test_computer: str = _setting(
        "", "Computer of the test record (default: host name)"
    )
    test_user: str = _setting("", "User of the test record (default: login name)")

    @property
    def resolved_api(self) -> str:
        if self.api:
            return self.api
        return API_LOGS_INGESTION if self.dcr_id else API_DATA_COLLECTOR

    @property
    def resolved_stream(self) -> str:
        return self.stream or f"Custom-{self.log_type}_CL"

    @property
    def cloud_endpoints(self) -> Cloud:
        return CLOUDS[self.cloud]

    def check(self) -> Settings:
        """Refuse settings no request could succeed with; return self."""
        if self.cloud not in CLOUDS:
            raise ConfigError(
                f"cloud {self.cloud!r} is unknown; use one of {', '.join(CLOUDS)}"
            )
        if self.api not in ("", API_DATA_COLLECTOR, API_LOGS_INGESTION):
            raise ConfigError(
                f"api {self.api!r} is unknown; use {API_LOGS_INGESTION} or {API_DATA_COLLECTOR}"
            )
        if not _LOG_TYPE.fullmatch(self.log_type):
            raise ConfigError(
                f"log_type {self.log_type[:120]!r} must be 1-100 letters, digits or _"
            )
        unknown = set(self.categories) - {c.value for c in Category}
        if unknown:
            raise ConfigError(
                f"unknown categories {sorted(unknown)}; choose from "
                + ", ".join(c.value for c in Category)
            )
        if self.batch_records < 1 or self.batch_bytes < 1 or self.concurrency < 1:
            raise ConfigError("batch_records, batch_bytes and concurrency must be >= 1")
        return self

    def check_destination(self) -> Settings:
        """Refuse a destination no request could reach; return self."""
        if self.resolved_api == API_DATA_COLLECTOR:
            if not _GUID.fullmatch(self.workspace_id):
                raise ConfigError(
                    "workspace_id must be the workspace GUID (Azure portal: Log Analytics "
                    "workspace > Agents); give --workspace-id or workspace_id in the file"
                )
        else:
            missing = [
                name
                for name in ("endpoint", "dcr_id", "tenant_id", "client_id")
                if not getattr(self, name)
            ]
            if missing:
                raise ConfigError(
                    "the Logs Ingestion API needs "
                    + ", ".join(missing)
                    + " (flags --"
                    + ", --".join(name.replace("_", "-") for name in missing)
                    + ")"
                )
        return self

    def shared_key(self) -> Secret:
        return read_secret(self.shared_key_file, self.shared_key_env, "shared key")

    def client_secret(self) -> Secret:
        return read_secret(
            self.client_secret_file, self.client_secret_env, "client secret"
        )


SETTING_NAMES = tuple(f.name for f in fields(Settings))
_KIND_NAMES = {int: "an integer", float: "a number", str: "a string"}


def _coerce(name: str, value: Any, default: Any) -> Any:
    kind = type(default)
    if isinstance(default, tuple):
        if isinstance(value, str):
            value = [part.strip() for part in value.split(",") if part.strip()]
        if not isinstance(value, list | tuple) or not all(
            isinstance(v, str) for v in value
        ):
            raise ConfigError(f"{name} must be a list of strings")
        return tuple(value)
    if kind is bool:
        if isinstance(value, str) and value.lower() in ("true", "false", "1", "0"):
            return value.lower() in ("true", "1")
        if not isinstance(value, bool):
            raise ConfigError(f"{name} must be true or false")
        return value
    try:
        return kind(value)
    except (TypeError, ValueError):
        raise ConfigError(
            f"{name} must be {_KIND_NAMES.get(kind, kind.__name__)}, not {value!r:.60}"
        ) from None


def load_settings(
    path: str | None, overrides: Mapping[str, Any], *, destination: bool = True
) -> Settings:
    """Settings from the TOML file at ``path`` (if any), then ``overrides`` (flags).

    ``destination`` False skips the workspace checks, for commands that only
    read the spool (``status``).
    """
    values: dict[str, Any] = {}
    if path:
        try:
            with open(path, "rb") as handle:
                values.update(tomllib.load(handle))
        except OSError as err:
            raise ConfigError(
                f"cannot read the settings file {path!r} ({err.strerror})"
            ) from None
        except tomllib.TOMLDecodeError as err:
            raise ConfigError(
                f"the settings file {path!r} is not valid TOML: {err}"
            ) from None
    secret_keys = {"shared_key", "client_secret"} & set(values)
    if secret_keys:
        raise ConfigError(
            f"{path} holds {', '.join(sorted(secret_keys))}; secrets go in their own "
            "owner-only file (shared_key_file, client_secret_file) or the environment"
        )
    unknown = set(values) - set(SETTING_NAMES)
    if unknown:
        raise ConfigError(f"unknown settings in {path}: {', '.join(sorted(unknown))}")
    values.update({k: v for k, v in overrides.items() if v is not None})
    defaults = Settings()
    coerced = {
        name: _coerce(name, value, getattr(defaults, name))
        for name, value in values.items()
    }
    settings = replace(defaults, **coerced).check()
    return settings.check_destination() if destination else settings
