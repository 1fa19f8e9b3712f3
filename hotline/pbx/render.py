"""Render asterisk-conf/ templates into a folder Asterisk reads as /etc/asterisk."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import jinja2

from hotline.config import Settings
from hotline.credentials import ensure_secrets, trunk_password
from hotline.errors import HotlineError
from hotline.pbx.tls import copy_into, tls_files

SHIPPED_TEMPLATES = Path(__file__).resolve().parent.parent.parent / "asterisk-conf"
# Where Asterisk finds the files rendered next to its configuration.
ASTERISK_ETC = "/etc/asterisk"
# Characters an Asterisk config value cannot hold as they are (';' starts a
# comment, a newline ends the value).
_CONF_UNSAFE = set(";\n\r[]\\")


class RenderError(HotlineError):
    error_id = "pbx-render-failed"


def templates_dir(settings: Settings) -> Path:
    folder = settings.pbx.templates or SHIPPED_TEMPLATES
    if not folder.is_dir():
        raise RenderError(f"Asterisk templates folder {folder} does not exist (pbx.templates)")
    return folder


def context(settings: Settings) -> dict[str, object]:
    secrets = ensure_secrets(settings)
    seats = [{"name": name, "password": secrets["seat_passwords"][name]} for name in settings.seats.names()]
    monitors = [{"name": n, "password": secrets["monitor_passwords"][n]} for n in settings.seats.monitor_names()]
    trunks = []
    for trunk in settings.node_trunks:
        password = trunk_password(settings, trunk)
        if trunk.registration and not password:
            raise RenderError(
                f"trunk {trunk.name}: no password (trunks.password, or "
                f"[trunk_passwords] {trunk.name} in {settings.secrets_file})"
            )
        if _CONF_UNSAFE & set(password) or password != password.strip():
            raise RenderError(
                f"trunk {trunk.name}: the password holds ; [ ] \\ or spaces at its ends, "
                "which Asterisk's configuration cannot carry"
            )
        trunks.append(trunk.model_copy(update={"password": password}))
    permit = list(dict.fromkeys(settings.pbx.sip_networks + settings.carrier_networks))
    external = settings.pbx.public_address if settings.pbx.public_address != settings.pbx.sip_host else ""
    return {
        "trunks": trunks,
        "trunk_numbers": {t.name: settings.trunk_numbers(t) for t in settings.node_trunks},
        "acl_permit": permit,
        "sip_bind": settings.pbx.sip_host,
        "external": external,
        "tls": {"cert": f"{ASTERISK_ETC}/hotline-tls.crt", "key": f"{ASTERISK_ETC}/hotline-tls.key"},
        "outbound": settings.outbound,
        "outbound_caller_id": settings.outbound_caller_id,
        "ami": settings.ami,
        "agi": settings.agi,
        # Proves to the FastAGI server that a session comes from this dialplan.
        "agi_key": settings.agi.key or secrets["agi_key"],
        "pbx": settings.pbx,
        "seats": seats,
        # Seats registered at the SIP edge: this node rings them through it.
        "seat_edge": f"{settings.edge.host}:{settings.edge.sip_port}" if settings.seats_at_edge else "",
        "monitors": monitors,
        "legacy_numbers": settings.legacy_numbers,
        "hotline_number": settings.hotline_number,
        "acd": settings.acd,
        "tickets": settings.tickets,
        "recordings": settings.recordings,
        "carmove": settings.carmove,
    }


def render_config(settings: Settings, dest: Path) -> list[Path]:
    """Write every template into dest; returns the files written.

    Files hold secrets, so the folder is private to the owner.
    """
    src = templates_dir(settings)
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(src)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )
    ctx = context(settings)
    dest.mkdir(parents=True, exist_ok=True)
    os.chmod(dest, 0o700)
    written = []
    for template in sorted(src.glob("*.conf")):
        try:
            text = env.get_template(template.name).render(**ctx)
        except jinja2.TemplateError as exc:
            raise RenderError(f"{template.name}: {exc}") from exc
        out = dest / template.name
        tmp = out.with_suffix(".conf.tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, out)
        written.append(out)
    copy_into(tls_files(settings), dest)
    return written


def ensure_hold_music(folder: Path) -> Path:
    """A soft two-tone hold loop made with sox, so no extra package is needed."""
    folder.mkdir(parents=True, exist_ok=True)
    target = folder / "hold.wav"
    if target.exists() and target.stat().st_size > 0:
        return target
    if shutil.which("sox") is None:
        raise RenderError("sox is not installed; it makes the hold music (apt-get install sox)")
    tmp = folder / "hold.tmp.wav"
    subprocess.run(
        [
            "sox",
            "-n",
            "-r",
            "8000",
            "-c",
            "1",
            "-b",
            "16",
            "-e",
            "signed-integer",
            str(tmp),
            "synth",
            "0.6",
            "sine",
            "523",
            "synth",
            "0.6",
            "sine",
            "659",
            "fade",
            "0.05",
            "0.6",
            "0.1",
            "repeat",
            "7",
            "pad",
            "0",
            "1",
            "gain",
            "-12",
        ],
        check=True,
        capture_output=True,
    )
    os.replace(tmp, target)
    return target
