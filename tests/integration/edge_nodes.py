"""Two Asterisk nodes behind a Kamailio edge, as the edge tests lay them out:
node A is the session's PBX, node B a second bundled Asterisk `offset`
ports above it on an address of its own."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from hotline.config import Settings
from tests.conftest import make_settings


def edge_section(settings: Settings, tmp: Path, *, host: str, node_b: str, offset: int, **extra: Any) -> dict[str, Any]:
    return {
        "enabled": True,
        "host": host,
        "sip_port": settings.pbx.sip_port + 30 + offset,
        "ws_port": settings.pbx.sip_port + 31 + offset,
        "instance_dir": str(tmp / "edge"),
        "nodes": [
            {"name": "a", "host": settings.pbx.sip_host, "sip_port": settings.pbx.sip_port},
            {"name": "b", "host": node_b, "sip_port": settings.pbx.sip_port + offset},
        ],
        **extra,
    }


def node_b_settings(
    settings: Settings, tmp: Path, *, host: str, offset: int, rtp: tuple[int, int], **overrides: Any
) -> Settings:
    return make_settings(
        tmp / "b",
        ami={"port": settings.ami.port + offset},
        agi={"port": settings.agi.port + offset},
        pbx={
            "sip_host": host,
            "sip_port": settings.pbx.sip_port + offset,
            "sip_tls_port": settings.pbx.sip_tls_port + offset,
            "http_port": settings.pbx.http_port + offset,
            "rtp_start": rtp[0],
            "rtp_end": rtp[1],
        },
        **overrides,
    )
