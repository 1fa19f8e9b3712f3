"""`hotline cluster up` and `down`, as a person types them: a private
PostgreSQL, two Asterisk nodes, Kamailio and two controllers on this
machine; one controller leads, the lead's seat map shows both nodes, and
`down` leaves nothing running."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest

from hotline.config import Settings
from hotline.pbx.process import Pbx
from tests.conftest import ROOT
from tests.integration.browser import SHOTS, chromium, sign_in

pytestmark = pytest.mark.pbx

# Ports away from the session's (the cluster moves them by 100 and 200 more).
CONFIG = """
state_dir = "{state}"
[ami]
port = 16038
[agi]
port = 16573
[web]
port = 19080
[pbx]
rootfs = "{rootfs}"
sip_port = 15060
sip_tls_port = 15061
http_port = 19088
rtp_start = 40000
rtp_end = 40999
[seats]
phones = "simulated"
[cluster]
local_pg_port = 15440
"""


def hotline(config: Path, *args: str, stdin: str | None = None, env: dict[str, str] | None = None) -> str:
    done = subprocess.run(
        [sys.executable, "-m", "hotline", "--config", str(config), *args],
        cwd=ROOT,
        input=stdin,
        capture_output=True,
        text=True,
        timeout=300,
        env=env,
    )
    assert done.returncode == 0, done.stdout[-2000:] + done.stderr[-3000:]
    return done.stdout


def listening(host: str, port: int) -> bool:
    with socket.socket() as s:
        return s.connect_ex((host, port)) == 0


async def test_cluster_up_runs_two_nodes_behind_the_edge_and_down_stops_it_all(
    pbx: Pbx, settings: Settings, tmp_path: Path
) -> None:
    config = tmp_path / "hotline.toml"
    config.write_text(CONFIG.format(state=tmp_path / "state", rootfs=settings.pbx.rootfs))
    try:
        out = hotline(config, "cluster", "up")
        assert "sip:12345@127.0.0.10:15060" in out
        assert "node a: http://127.0.0.1:19180/" in out and "node b: http://127.0.0.1:19280/" in out
        status = json.loads(hotline(config, "cluster", "status"))
        assert status["postgres"] and status["asterisk"] == {"a": True, "b": True}
        assert sorted(status["edge"]) == ["a up", "b up"] and status["controllers"] == {"a": True, "b": True}
        views = {}
        async with aiohttp.ClientSession() as http:
            for node, port in (("a", 19180), ("b", 19280)):
                async with http.get(f"http://127.0.0.1:{port}/api/health") as resp:
                    views[node] = (await resp.json())["cluster"]
        assert sorted(v["leading"] for v in views.values()) == [False, True]
        # A lead made with the CLI on node a, as an admin would.
        node_a = dict(
            os.environ, HOTLINE_SETTINGS_FILE=str(tmp_path / "state" / "cluster" / "node-a" / "settings.json")
        )
        hotline(
            config, "user", "add", "lead1", "--role", "lead", "--password-stdin", stdin="lead-pass-2026\n", env=node_a
        )
        async with chromium() as browser:
            page = await browser.new_page(viewport={"width": 1500, "height": 1000})
            await page.goto("http://127.0.0.1:19180/lead/seatmap")
            await sign_in(page, "lead1", "lead-pass-2026", "/lead/seatmap")
            await page.wait_for_selector("#nodes [data-node=a].up", timeout=15000)
            await page.wait_for_selector("#nodes [data-node=b].up", timeout=15000)
            SHOTS.mkdir(parents=True, exist_ok=True)
            await page.screenshot(path=str(SHOTS / "cluster-up-seatmap.png"))
    finally:
        out = hotline(config, "cluster", "down")
    assert "stopped" in out
    for host, port in (("127.0.0.1", 19180), ("127.0.0.1", 19280), ("127.0.0.1", 16138), ("127.0.0.1", 16238)):
        assert not listening(host, port), (host, port)
    assert not (tmp_path / "state" / "cluster" / "postgres" / "data" / "postmaster.pid").exists()
