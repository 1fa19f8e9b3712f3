"""Render asterisk-conf/ templates into a folder Asterisk reads as /etc/asterisk."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import jinja2

from hotline.config import Settings, ensure_secrets
from hotline.errors import HotlineError

SHIPPED_TEMPLATES = Path(__file__).resolve().parent.parent.parent / "asterisk-conf"


class RenderError(HotlineError):
    error_id = "pbx-render-failed"


def templates_dir(settings: Settings) -> Path:
    folder = settings.pbx.templates or SHIPPED_TEMPLATES
    if not folder.is_dir():
        raise RenderError(f"Asterisk templates folder {folder} does not exist (pbx.templates)")
    return folder


def context(settings: Settings) -> dict[str, object]:
    secrets = ensure_secrets(settings)
    seats = [
        {"name": name, "password": secrets["seat_passwords"][name]}
        for name in settings.seats.names()
    ]
    return {
        "ami": settings.ami,
        "agi": settings.agi,
        # Proves to the FastAGI server that a session comes from this dialplan.
        "agi_key": settings.agi.key or secrets["agi_key"],
        "pbx": settings.pbx,
        "seats": seats,
        "legacy_numbers": settings.legacy_numbers,
        "hotline_number": settings.hotline_number,
        "acd": settings.acd,
        "tickets": settings.tickets,
        "recordings": settings.recordings,
        # {number} becomes the dialplan's ${EXTEN}: one template for every outside number.
        "outside_dial": settings.ivr.transfer_dial.replace("{number}", "${EXTEN}"),
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
            "sox", "-n", "-r", "8000", "-c", "1", "-b", "16", "-e", "signed-integer", str(tmp),
            "synth", "0.6", "sine", "523", "synth", "0.6", "sine", "659", "fade", "0.05", "0.6", "0.1",
            "repeat", "7", "pad", "0", "1", "gain", "-12",
        ],
        check=True,
        capture_output=True,
    )
    os.replace(tmp, target)
    return target
