"""Reading the configuration: the TOML file, the environment over it, paths
resolved against the file's folder, secrets from the state folder; exact
snapshots for child processes; and the masked view `hotline config show`
prints. The schema itself is hotline/config.py."""

from __future__ import annotations

import os
import tomllib
from pathlib import Path
from typing import Any

import tomli_w
from pydantic import ValidationError

from hotline.config import DEFAULT_CONFIG_NAME, MASK, ConfigError, Settings


class _Exact(Settings):
    """Settings as serialised, nothing else: no environment variable applies."""

    EXACT = True


def from_snapshot(text: str) -> Settings:
    """The settings a parent process handed over (the PBX supervisor's): the
    environment must not change them on the way, or the supervisor renders
    another state folder's secrets than its parent waits with."""
    return _Exact.model_validate_json(text)


def _format_error(err: ValidationError) -> list[str]:
    problems = []
    for e in err.errors():
        key = ".".join(str(p) for p in e["loc"]) or "(top level)"
        msg = e["msg"]
        if e["type"] == "extra_forbidden":
            msg = "unknown key"
        elif msg.startswith("Value error, "):
            msg = msg[len("Value error, ") :]
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
    if settings.ivr.prompts_dir is not None:
        settings.ivr.prompts_dir = _resolve(settings.ivr.prompts_dir, base)
    if settings.ivr.messages_dir is not None:
        settings.ivr.messages_dir = _resolve(settings.ivr.messages_dir, base)
    if settings.recordings.dir is not None:
        settings.recordings.dir = _resolve(settings.recordings.dir, base)
    from hotline.credentials import apply_stored

    apply_stored(settings)
    return settings


def _deep_merge(into: dict[str, Any], extra: dict[str, Any]) -> None:
    for key, value in extra.items():
        if isinstance(value, dict) and isinstance(into.get(key), dict):
            _deep_merge(into[key], value)
        else:
            into[key] = value


# -- display ---------------------------------------------------------------

_SECRET_KEYS = {"secret", "password", "ami_secret", "key", "agi_key", "token"}


def masked(settings: Settings) -> dict[str, Any]:
    data = settings.model_dump(mode="json")

    def walk(node: Any) -> Any:
        if isinstance(node, str) and "://" in node and "@" in node:
            # user:password@host in a database URL
            scheme, _, rest = node.partition("://")
            creds, _, host = rest.rpartition("@")
            user = creds.split(":", 1)[0]
            return f"{scheme}://{user}:{MASK}@{host}"
        if isinstance(node, dict):
            return {k: (MASK if k in _SECRET_KEYS and v else walk(v)) for k, v in node.items()}
        if isinstance(node, list):
            return [walk(v) for v in node]
        return node

    return walk(data)


def to_toml(data: dict[str, Any]) -> str:
    """`hotline config show`: TOML has no null, so unset values are left out."""

    def drop_none(node: Any) -> Any:
        if isinstance(node, dict):
            return {k: drop_none(v) for k, v in node.items() if v is not None}
        if isinstance(node, list):
            return [drop_none(v) for v in node]
        return node

    return tomli_w.dumps(drop_none(data))
