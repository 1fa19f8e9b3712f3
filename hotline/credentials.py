"""Secrets generated at install (AMI, FastAGI, metrics and gateway tokens,
seat passwords) and those an operator adds (carriers' trunk passwords): one
private file, `state_dir/secrets.toml` (mode 600), never in the configuration
or the repository."""

from __future__ import annotations

import os
import secrets
import tomllib
from typing import TYPE_CHECKING, Any

import tomli_w

from hotline.config import GATEWAY_CHANNELS, PEERS, ConfigError

if TYPE_CHECKING:
    from hotline.config import Settings, Trunk


def read_secrets(settings: Settings) -> dict[str, Any]:
    try:
        return tomllib.loads(settings.secrets_file.read_text(encoding="utf-8"))
    except FileNotFoundError:
        return {}
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError([f"{settings.secrets_file}: not valid TOML: {exc}"]) from None


def apply_stored(settings: Settings) -> None:
    """Fill the AMI secret and the FastAGI key from the file when the
    configuration left them empty."""
    if not settings.ami.secret or not settings.agi.key:
        stored = read_secrets(settings)
        settings.ami.secret = settings.ami.secret or str(stored.get("ami_secret", ""))
        settings.agi.key = settings.agi.key or str(stored.get("agi_key", ""))


def ensure_secrets(settings: Settings) -> dict[str, Any]:
    """Generate missing secrets once; existing ones are never rotated silently."""
    current = read_secrets(settings)
    changed = False
    for key in ("ami_secret", "metrics_token", "agi_key"):
        if not current.get(key):
            current[key] = secrets.token_urlsafe(24)
            changed = True
    seats = dict(current.get("seat_passwords", {}))
    for name in settings.seats.names():
        if not seats.get(name):
            seats[name] = secrets.token_urlsafe(12)
            changed = True
    current["seat_passwords"] = seats
    monitors = dict(current.get("monitor_passwords", {}))
    for name in settings.seats.monitor_names():
        if not monitors.get(name):
            monitors[name] = secrets.token_urlsafe(12)
            changed = True
    current["monitor_passwords"] = monitors
    gateways = dict(current.get("gateway_tokens", {}))
    for channel in GATEWAY_CHANNELS:
        if not gateways.get(channel):
            gateways[channel] = secrets.token_urlsafe(24)
            changed = True
    current["gateway_tokens"] = gateways
    # The hotline's own token when it posts replies to a channel's gateway:
    # the gateway's operator is given it (see README, "Other channels").
    outbox = dict(current.get("outbox_tokens", {}))
    for channel in GATEWAY_CHANNELS:
        if not outbox.get(channel):
            outbox[channel] = secrets.token_urlsafe(24)
            changed = True
    current["outbox_tokens"] = outbox
    # Peers sign every request both ways with one shared secret each; the
    # peer's operator is given it (README, "The 110 link").
    peers = dict(current.get("peer_secrets", {}))
    for peer in PEERS:
        if not peers.get(peer):
            peers[peer] = secrets.token_hex(32)
            changed = True
    current["peer_secrets"] = peers
    if changed:
        write_secrets(settings, current)
    if not settings.ami.secret:
        settings.ami.secret = current["ami_secret"]
    if not settings.agi.key:
        settings.agi.key = current["agi_key"]
    return current


def write_secrets(settings: Settings, current: dict[str, Any]) -> None:
    """Replace the secrets file atomically; sections the operator added
    (trunk_passwords) are kept as they are."""
    settings.state_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
    tmp = settings.secrets_file.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        fh.write(tomli_w.dumps(current))
    os.replace(tmp, settings.secrets_file)


def trunk_password(settings: Settings, trunk: Trunk) -> str:
    if trunk.password:
        return trunk.password
    stored = read_secrets(settings).get("trunk_passwords", {})
    return str(stored.get(trunk.name, "")) if isinstance(stored, dict) else ""


def outbox_tokens(settings: Settings) -> dict[str, str]:
    """channel -> the token the hotline presents to that channel's gateway:
    the configuration's, else the one generated at install."""
    stored = ensure_secrets(settings).get("outbox_tokens", {})
    return {c: gw.token or str(stored.get(c, "")) for c, gw in settings.channels.items()}


def peer_secret(settings: Settings, peer: str) -> bytes:
    stored = ensure_secrets(settings).get("peer_secrets", {})
    return str(stored.get(peer, "")).encode() if isinstance(stored, dict) else b""
