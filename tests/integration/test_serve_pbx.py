"""`hotline serve --with-pbx` and a PBX already running for its instance:
the one an earlier `serve --with-pbx` left behind (it crashed) is adopted,
said so, and stopped on Ctrl-C; one the operator started with `hotline pbx
start` is used and kept. Before, both were adopted silently and left running
(twice an orphan PBX then held the ports)."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from hotline.config import Settings
from hotline.pbx.process import Pbx
from tests.conftest import ROOT, TEST_CONFIG, make_settings

pytestmark = pytest.mark.pbx

OFFSET = 200


def _settings(settings: Settings, tmp: Path) -> Settings:
    return make_settings(
        tmp,
        ami={"port": settings.ami.port + OFFSET, "secret": "serve-pbx-test-secret"},
        agi={"port": settings.agi.port + OFFSET, "key": "serve-pbx-test-key"},
        web={"port": settings.web.port + OFFSET},
        pbx={
            "sip_port": settings.pbx.sip_port + OFFSET,
            "sip_tls_port": settings.pbx.sip_tls_port + OFFSET,
            "rtp_start": 34000,
            "rtp_end": 34999,
        },
    )


def _serve(own: Settings, log: Path) -> subprocess.Popen[bytes]:
    env = dict(
        os.environ,
        HOTLINE_CONFIG=str(TEST_CONFIG),
        HOTLINE_STATE_DIR=str(own.state_dir),
        HOTLINE_PBX__ROOTFS=str(own.pbx.rootfs),
        HOTLINE_PBX__INSTANCE_DIR=str(own.pbx.instance_dir),
        HOTLINE_AMI__PORT=str(own.ami.port),
        HOTLINE_AMI__SECRET=own.ami.secret,
        HOTLINE_AGI__PORT=str(own.agi.port),
        HOTLINE_AGI__KEY=own.agi.key,
        HOTLINE_WEB__PORT=str(own.web.port),
        HOTLINE_PBX__SIP_PORT=str(own.pbx.sip_port),
        HOTLINE_PBX__SIP_TLS_PORT=str(own.pbx.sip_tls_port),
        HOTLINE_PBX__RTP_START=str(own.pbx.rtp_start),
        HOTLINE_PBX__RTP_END=str(own.pbx.rtp_end),
    )
    with log.open("ab") as out:
        return subprocess.Popen(
            [sys.executable, "-m", "hotline", "serve", "--with-pbx"],
            env=env,
            cwd=ROOT,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )


def _until(log: Path, text: str, proc: subprocess.Popen[bytes], timeout: float = 60) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        seen = log.read_text(errors="replace")
        if text in seen:
            return seen
        assert proc.poll() is None, seen[-3000:]
        time.sleep(0.2)
    raise AssertionError(f"{text!r} not within {timeout} s:\n{log.read_text(errors='replace')[-3000:]}")


def _stop(proc: subprocess.Popen[bytes]) -> None:
    os.killpg(proc.pid, signal.SIGTERM)  # Ctrl-C's signal for a process group
    try:
        proc.wait(60)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait(10)
        raise AssertionError("serve did not stop within 60 s") from None


def test_serve_with_pbx_adopts_a_crashed_runs_pbx_and_stops_it_but_keeps_the_operators(
    settings: Settings, tmp_path: Path
) -> None:
    own = _settings(settings, tmp_path)
    pbx = Pbx(own)
    try:
        # An earlier `serve --with-pbx` crashed: its Asterisk is still running.
        pbx.start(owner="serve")
        left = pbx.supervisor_pid()
        log = tmp_path / "serve.log"
        proc = _serve(own, log)
        try:
            text = _until(log, "serving on", proc)
            assert f"沿用仍在运行的 Asterisk（pid {left}" in text and "停止时一并停止" in text
        finally:
            _stop(proc)
        assert "Asterisk stopped" in log.read_text(errors="replace")
        assert pbx.supervisor_pid() is None  # no orphan holds the ports

        # The operator's own PBX (`hotline pbx start`): used, and kept running.
        pbx.start(owner="cli")
        kept = pbx.supervisor_pid()
        log2 = tmp_path / "serve2.log"
        proc = _serve(own, log2)
        try:
            text = _until(log2, "serving on", proc)
            assert f"沿用由 `hotline pbx start` 启动的 Asterisk（pid {kept}），停止时保留它" in text
        finally:
            _stop(proc)
        assert "Asterisk stopped" not in log2.read_text(errors="replace")
        assert pbx.supervisor_pid() == kept
    finally:
        pbx.stop()
