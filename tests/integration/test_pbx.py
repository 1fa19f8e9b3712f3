"""The bundled PBX: CLI, start/stop, and clear errors when it cannot start."""

from __future__ import annotations

import json
import os
import resource
import socket
import subprocess
import sys
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from hotline.config import Settings
from hotline.pbx.app import PBX_WATCH
from hotline.pbx.errors import PbxBootFailed
from hotline.pbx.process import Pbx, PbxError
from tests.conftest import make_settings
from tests.integration.helpers import eventually

pytestmark = pytest.mark.pbx


def hotline_cli(settings: Settings, *args: str) -> subprocess.CompletedProcess[str]:
    snapshot = Path(settings.pbx.instance_dir) / "settings.json"
    env = dict(os.environ, HOTLINE_SETTINGS_FILE=str(snapshot))
    return subprocess.run([sys.executable, "-m", "hotline", *args], capture_output=True, text=True, env=env, timeout=60)


def test_cli_core_show_version_is_asterisk_22(pbx: Pbx, settings: Settings) -> None:
    out = hotline_cli(settings, "pbx", "cli", "core", "show", "version")
    assert out.returncode == 0, out.stderr
    assert out.stdout.startswith("Asterisk 22."), out.stdout


def test_status_reports_running_and_only_loopback(pbx: Pbx, settings: Settings) -> None:
    out = hotline_cli(settings, "pbx", "status")
    assert out.returncode == 0, out.stderr
    info = json.loads(out.stdout)
    assert info["running"] is True
    assert info["installed"].startswith("Asterisk 22")
    assert listening_addresses(settings.ami.port) == {"127.0.0.1"}


def listening_addresses(port: int) -> set[str]:
    """IPv4 addresses with a TCP socket listening on port, from /proc/net/tcp."""
    found = set()
    for line in Path("/proc/net/tcp").read_text().splitlines()[1:]:
        local, state = line.split()[1], line.split()[3]
        addr, _, hexport = local.partition(":")
        if state == "0A" and int(hexport, 16) == port:
            found.add(socket.inet_ntoa(bytes.fromhex(addr)[::-1]))
    return found


def test_stop_then_start_again(pbx: Pbx, settings: Settings) -> None:
    assert pbx.stop() is True
    assert pbx.supervisor_pid() is None
    with socket.socket() as s:
        assert s.connect_ex((settings.ami.host, settings.ami.port)) != 0, "AMI port still open after stop"
    assert not any("asterisk" in p for p in _sandbox_processes(settings))
    pbx.start()
    assert "Asterisk 22" in pbx.cli("core show version")


def test_start_refuses_a_taken_ami_port(pbx: Pbx, settings: Settings, tmp_path: Path) -> None:
    other = Pbx(
        settings.model_copy(update={"pbx": settings.pbx.model_copy(update={"instance_dir": tmp_path / "other"})})
    )
    with pytest.raises(PbxError, match="already taken"):
        other.start()


def test_cli_without_a_running_pbx_says_so(settings: Settings, tmp_path: Path) -> None:
    idle = Pbx(settings.model_copy(update={"pbx": settings.pbx.model_copy(update={"instance_dir": tmp_path / "idle"})}))
    with pytest.raises(PbxError, match="not running"):
        idle.cli("core show version")


def _sandbox_processes(settings: Settings) -> list[str]:
    out = subprocess.run(["ps", "-eo", "args"], capture_output=True, text=True).stdout
    return [line for line in out.splitlines() if str(settings.pbx.instance_dir) in line]


def test_rendered_configuration_loads_without_warnings(pbx: Pbx) -> None:
    log = pbx.paths.messages_log.read_text(errors="replace")
    boot = log[: log.index("Asterisk Ready")]
    bad = [line for line in boot.splitlines() if " WARNING[" in line or " ERROR[" in line]
    assert bad == [], "\n".join(bad)


async def test_asterisk_runs_with_the_hard_open_file_limit_and_health_counts_its_files(
    pbx: Pbx, controller: TestServer
) -> None:
    """Before: Asterisk inherited a soft limit of 1024 and dropped calls with
    'Too many open files' near 300 callers."""
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    pid = pbx.asterisk_pid()
    assert pid is not None
    limits = Path(f"/proc/{pid}/limits").read_text()
    expected = "unlimited" if hard == resource.RLIM_INFINITY else str(hard)
    soft_now = next(line.split()[3] for line in limits.splitlines() if line.startswith("Max open files"))
    assert soft_now == (str(1 << 20) if expected == "unlimited" else expected), limits
    watch = controller.app[PBX_WATCH]
    await eventually(lambda: watch.files is not None, timeout=15)
    async with aiohttp.ClientSession() as http:
        async with http.get(controller.make_url("/api/health")) as resp:
            body = await resp.json()
    files = body["pbx"]["files"]
    assert files["limit"] == int(soft_now) and 10 < files["open"] < files["limit"] and not files["near_limit"]
    assert [w for w in body["warnings"] if "文件" in w] == []  # (the calendar may warn of next year)


def test_a_start_that_never_boots_is_tried_twice_and_leaves_nothing_running(
    settings: Settings, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # No Asterisk boots in a hundredth of a second: both attempts time out
    # with Asterisk still running, which is what a boot that hangs looks like.
    offset = 60
    slow = make_settings(
        tmp_path,
        ami={"port": settings.ami.port + offset},
        agi={"port": settings.agi.port + offset},
        pbx={
            "sip_port": settings.pbx.sip_port + offset,
            "sip_tls_port": settings.pbx.sip_tls_port + offset,
            "http_port": settings.pbx.http_port + offset,
            "rtp_start": 36000,
            "rtp_end": 36099,
            "boot_timeout": 0.01,
        },
    )
    pbx = Pbx(slow)
    with caplog.at_level("WARNING", logger="hotline.pbx.process"), pytest.raises(PbxBootFailed) as failed:
        pbx.start()
    assert failed.value.hung
    assert "did not come up within" in str(failed.value)
    assert [r.message.endswith("Starting it once more.") for r in caplog.records] == [True]
    assert pbx.supervisor_pid() is None
    with socket.socket() as s:
        assert s.connect_ex(("127.0.0.1", slow.ami.port)) != 0, "AMI port still open after a failed start"
