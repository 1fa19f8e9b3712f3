"""One TOML configuration file, overridable by environment variables.

Precedence, highest first: environment (``HOTLINE_<SECTION>__<KEY>``), the
TOML file (``--config``, ``$HOTLINE_CONFIG`` or ``./hotline.toml``), the
defaults below, and for secrets the file written by ``hotline pbx install``.
Relative paths are resolved against the configuration file's folder.
"""

from __future__ import annotations

import os
import re
import secrets
import tomllib
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from hotline.errors import HotlineError

DEFAULT_CONFIG_NAME = "hotline.toml"
SECRETS_NAME = "secrets.toml"
MASK = "********"


class ConfigError(HotlineError):
    error_id = "config-invalid"

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("invalid configuration:\n" + "\n".join(f"  {p}" for p in problems))


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


def _loopback_default() -> str:
    return "127.0.0.1"


class AmiSettings(_Section):
    host: str = Field(default_factory=_loopback_default, description="AMI host")
    port: int = Field(5038, ge=1, le=65535)
    username: str = Field("hotline", pattern=r"^[A-Za-z0-9_-]{1,64}$")
    secret: str = Field("", description="generated at install; empty means 'read the secrets file'")
    connect_timeout: float = Field(5.0, gt=0, le=60)
    action_timeout: float = Field(10.0, gt=0, le=600)
    ping_interval: float = Field(5.0, gt=0, le=300)
    ping_timeout: float = Field(3.0, gt=0, le=60)
    backoff_initial: float = Field(0.2, gt=0, le=10)
    backoff_max: float = Field(4.0, gt=0, le=60)
    max_message_bytes: int = Field(4 * 1024 * 1024, ge=64 * 1024)

    @model_validator(mode="after")
    def _backoff_order(self) -> "AmiSettings":
        if self.backoff_max < self.backoff_initial:
            raise ValueError("backoff_max must not be smaller than backoff_initial")
        return self


class AgiSettings(_Section):
    host: str = Field(default_factory=_loopback_default)
    port: int = Field(4573, ge=1, le=65535)
    # A caller must never wait on a stuck controller longer than this.
    command_timeout: float = Field(30.0, gt=0, le=3600)
    max_header_lines: int = Field(256, ge=16, le=4096)


class WebSettings(_Section):
    host: str = Field(default_factory=_loopback_default)
    port: int = Field(8080, ge=1, le=65535)


class PbxSettings(_Section):
    rootfs: Path = Field(Path("var/pbx-rootfs"), description="cached Asterisk root filesystem")
    instance_dir: Path = Field(Path("var/pbx"), description="rendered config, logs, spool, control socket")
    templates: Path | None = Field(None, description="asterisk-conf/ folder; default: the one shipped")
    suite: str = Field("sid", pattern=r"^[a-z]+$")
    mirror: str = Field("", description="Debian mirror URL for mmdebstrap; empty: its default")
    packages: list[str] = Field(default_factory=lambda: ["asterisk", "asterisk-core-sounds-en-gsm"])
    sip_host: str = Field(default_factory=_loopback_default)
    sip_port: int = Field(5060, ge=1, le=65535)
    rtp_start: int = Field(10000, ge=1024, le=65535)
    rtp_end: int = Field(10999, ge=1024, le=65535)
    boot_timeout: float = Field(60.0, gt=0, le=600)

    @model_validator(mode="after")
    def _rtp_order(self) -> "PbxSettings":
        if self.rtp_end <= self.rtp_start:
            raise ValueError("rtp_end must be greater than rtp_start")
        return self


class SeatSettings(_Section):
    count: int = Field(26, ge=1, le=999)
    prefix: str = Field("seat", pattern=r"^[a-z]+$")

    def names(self) -> list[str]:
        width = max(2, len(str(self.count)))
        return [f"{self.prefix}{i:0{width}d}" for i in range(1, self.count + 1)]


_EXTEN = re.compile(r"^[0-9]{3,15}$")


class Settings(BaseSettings):
    """The effective configuration of one hotline installation."""

    model_config = SettingsConfigDict(
        env_prefix="HOTLINE_",
        env_nested_delimiter="__",
        extra="forbid",
        validate_assignment=True,
    )

    state_dir: Path = Field(Path("var"), description="secrets, database, recordings")
    hotline_number: str = Field("12345", pattern=r"^[0-9]{3,15}$")
    # Older hotline numbers folded into 12345: extension -> tag kept on the call
    # and its ticket, for separate figures per old number.
    legacy_numbers: dict[str, str] = Field(
        default_factory=lambda: {"12319": "城建", "12369": "环保", "12333": "人社"}
    )
    ami: AmiSettings = Field(default_factory=AmiSettings)
    agi: AgiSettings = Field(default_factory=AgiSettings)
    web: WebSettings = Field(default_factory=WebSettings)
    pbx: PbxSettings = Field(default_factory=PbxSettings)
    seats: SeatSettings = Field(default_factory=SeatSettings)

    @field_validator("legacy_numbers")
    @classmethod
    def _legacy_ok(cls, value: dict[str, str]) -> dict[str, str]:
        for number, tag in value.items():
            if not _EXTEN.match(number):
                raise ValueError(f"{number!r} is not a dialable number (3-15 digits)")
            if not tag or any(c in tag for c in ",;()\"'\n$\\"):
                raise ValueError(f"tag {tag!r} of {number} is empty or has characters the dialplan cannot hold")
        return value

    @model_validator(mode="after")
    def _no_clash(self) -> "Settings":
        if self.hotline_number in self.legacy_numbers:
            raise ValueError(f"legacy number {self.hotline_number} is the hotline number itself")
        return self

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The TOML file arrives through init kwargs (see load()); environment wins.
        return (env_settings, init_settings)

    # -- derived -----------------------------------------------------------
    @property
    def secrets_file(self) -> Path:
        return self.state_dir / SECRETS_NAME


def _format_error(err: ValidationError) -> list[str]:
    problems = []
    for e in err.errors():
        key = ".".join(str(p) for p in e["loc"]) or "(top level)"
        msg = e["msg"]
        if e["type"] == "extra_forbidden":
            msg = "unknown key"
        elif msg.startswith("Value error, "):
            msg = msg[len("Value error, "):]
        got = e.get("input")
        if e["type"] not in ("extra_forbidden", "missing") and not isinstance(got, (dict, list)):
            msg += f" (got {got!r})"
        problems.append(f"{key}: {msg}")
    return problems


def _resolve(path: Path, base: Path) -> Path:
    return path if path.is_absolute() else (base / path).resolve()


def find_config_file(explicit: str | os.PathLike[str] | None = None) -> Path | None:
    if explicit:
        p = Path(explicit)
        if not p.is_file():
            raise ConfigError([f"config file: {p} does not exist"])
        return p.resolve()
    env = os.environ.get("HOTLINE_CONFIG")
    if env:
        return find_config_file(env)
    p = Path.cwd() / DEFAULT_CONFIG_NAME
    return p.resolve() if p.is_file() else None


def load(path: str | os.PathLike[str] | None = None, **overrides: Any) -> Settings:
    """Load and validate; every problem is reported with its key and reason."""
    file = find_config_file(path)
    data: dict[str, Any] = {}
    if file is not None:
        try:
            data = tomllib.loads(file.read_text(encoding="utf-8"))
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError([f"{file}: not valid TOML: {exc}"]) from None
    _deep_merge(data, overrides)
    try:
        settings = Settings(**data)
    except ValidationError as exc:
        raise ConfigError(_format_error(exc)) from None
    base = file.parent if file is not None else Path.cwd()
    settings.state_dir = _resolve(settings.state_dir, base)
    settings.pbx.rootfs = _resolve(settings.pbx.rootfs, base)
    settings.pbx.instance_dir = _resolve(settings.pbx.instance_dir, base)
    if settings.pbx.templates is not None:
        settings.pbx.templates = _resolve(settings.pbx.templates, base)
    _apply_secrets(settings)
    return settings


def _deep_merge(into: dict[str, Any], extra: dict[str, Any]) -> None:
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _deep_merge(into[key], value)
        else:
            into[key] = value


# -- secrets ---------------------------------------------------------------

def read_secrets(settings: Settings) -> dict[str, Any]:
    try:
        return tomllib.loads(settings.secrets_file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{settings.secrets_file}: not valid TOML: {exc}"]) from None


def _apply_secrets(settings: Settings) -> None:
    if not settings.ami.secret:
        settings.ami.secret = str(read_secrets(settings).get("ami_secret", ""))


def ensure_secrets(settings: Settings) -> dict[str, Any]:
    """Generate missing secrets once; existing ones are never rotated silently."""
    current = read_secrets(settings)
    changed = False
    if not current.get("ami_secret"):
        current["ami_secret"] = secrets.token_urlsafe(24)
        changed = True
    seats = dict(current.get("seat_passwords", {}))
    for name in settings.seats.names():
        if not seats.get(name):
            seats[name] = secrets.token_urlsafe(12)
            changed = True
    current["seat_passwords"] = seats
    if changed:
        settings.state_dir.mkdir(parents=True, exist_ok=True)
        tmp = settings.secrets_file.with_suffix(".tmp")
        lines = [f'ami_secret = "{current["ami_secret"]}"', "", "[seat_passwords]"]
        lines += [f'{k} = "{v}"' for k, v in sorted(seats.items())]
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write("\n".join(lines) + "\n")
        os.replace(tmp, settings.secrets_file)
    if not settings.ami.secret:
        settings.ami.secret = current["ami_secret"]
    return current


# -- display ---------------------------------------------------------------

_SECRET_KEYS = {"secret", "password", "ami_secret"}


def masked(settings: Settings) -> dict[str, Any]:
    data = settings.model_dump(mode="json")

    def walk(node: Any) -> Any:
        if isinstance(node, dict):
            return {
                k: (MASK if k in _SECRET_KEYS and v else walk(v)) for k, v in node.items()
            }
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    return walk(data)


def to_toml(data: dict[str, Any]) -> str:
    """Small TOML writer for `hotline config show` (tomllib only reads)."""
    scalars = {k: v for k, v in data.items() if not isinstance(v, dict)}
    tables = {k: v for k, v in data.items() if isinstance(v, dict)}
    out = [f"{k} = {_toml_value(v)}" for k, v in scalars.items()]
    for name, table in tables.items():
        out.append("")
        out.append(f"[{name}]")
        for k, v in table.items():
            key = k if re.match(r"^[A-Za-z0-9_-]+$", k) else _toml_value(k)
            out.append(f"{key} = {_toml_value(v)}")
    return "\n".join(out) + "\n"


def _toml_value(v: Any) -> str:
    if v is None:
        return '""'
    if isinstance(v, bool):
        return "true" if v else "false"
    if isinstance(v, (int, float)):
        return repr(v)
    if isinstance(v, list):
        return "[" + ", ".join(_toml_value(x) for x in v) + "]"
    s = str(v).replace("\\", "\\\\").replace('"', '\\"')
    return f'"{s}"'
