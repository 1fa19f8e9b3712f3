"""`hotline cluster up`: a whole cluster on one machine, for demos and tests.

A private PostgreSQL (cluster/localpg.py), two bundled Asterisk nodes on
their own loopback addresses, Kamailio in front of them on another, and one
controller per node (`hotline serve`), all under <state_dir>/cluster. Ports
are the configured ones moved by 100 per node, so the cluster runs beside a
single-node hotline on the same machine."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from typing import Any

from hotline.cluster.localpg import LocalPostgres
from hotline.config import Settings
from hotline.db.migrate import upgrade
from hotline.edge.process import Edge
from hotline.errors import HotlineError
from hotline.pbx.process import Pbx

NODES = ("a", "b")
EDGE_HOST = "127.0.0.10"


class ClusterError(HotlineError):
    error_id = "cluster-failed"


def _address(i: int) -> str:
    return f"127.0.0.{11 + i}"


class LocalCluster:
    def __init__(self, base: Settings):
        self.base = base
        self.root = Path(base.state_dir) / "cluster"
        self.pg = LocalPostgres(self.root / "postgres", base.cluster.local_pg_port)
        self.state = self.root / "cluster.json"

    def node(self, i: int) -> Settings:
        b, step = self.base, 100 * (i + 1)
        span = b.pbx.rtp_end - b.pbx.rtp_start + 1
        edge = {
            "enabled": True,
            "host": EDGE_HOST,
            "sip_port": b.pbx.sip_port,
            "instance_dir": str(self.root / "edge"),
            "registrar": True,
            "nodes": [{"name": n, "host": _address(k), "sip_port": b.pbx.sip_port} for k, n in enumerate(NODES)],
        }
        folder = self.root / f"node-{NODES[i]}"
        changes: dict[str, Any] = {
            "state_dir": str(folder / "state"),
            "ami": b.ami.model_dump() | {"port": b.ami.port + step},
            "agi": b.agi.model_dump() | {"port": b.agi.port + step},
            "web": b.web.model_dump() | {"port": b.web.port + step},
            "pbx": b.pbx.model_dump()
            | {
                "instance_dir": str(folder / "pbx"),
                "sip_host": _address(i),
                "http_port": b.pbx.http_port + step,
                "rtp_start": b.pbx.rtp_start + span * (i + 1),
                "rtp_end": b.pbx.rtp_end + span * (i + 1),
            },
            "database": b.database.model_dump() | {"url": self.pg.url},
            "cluster": b.cluster.model_dump() | {"node": NODES[i]},
            "edge": edge,
        }
        return Settings.model_validate(b.model_dump() | changes)

    def up(self, say: Any = print) -> dict[str, Any]:
        if self.state.exists() and self._controllers_alive():
            raise ClusterError(f"the local cluster is already up ({self.state}); `hotline cluster down` first")
        self.root.mkdir(parents=True, exist_ok=True)
        os.chmod(self.root, 0o700)
        say(f"PostgreSQL (private, Unix socket in {self.pg.folder})")
        self.pg.start()
        nodes = [self.node(i) for i in range(len(NODES))]
        # The edge reads seats' passwords from the schema's tables from its start.
        upgrade(nodes[0])
        for s in nodes:
            say(f"Asterisk node {s.cluster.node} on {s.pbx.sip_host}:{s.pbx.sip_port}")
            Pbx(s).start()
        say(f"Kamailio edge on {EDGE_HOST}:{nodes[0].edge.sip_port}")
        Edge(nodes[0]).start()
        pids: dict[str, int] = {}
        for s in nodes:  # one at a time: each upgrades the schema as it starts
            say(f"controller {s.cluster.node} on http://{s.web.host}:{s.web.port}/")
            pids[s.cluster.node] = self._serve(s)
            self._wait_healthy(s, pids[s.cluster.node])
        info = {"controllers": pids, "web": {s.cluster.node: f"http://{s.web.host}:{s.web.port}/" for s in nodes}}
        self.state.write_text(json.dumps(info))
        return info

    def down(self) -> bool:
        nodes = [self.node(i) for i in range(len(NODES))]
        was = self.state.exists()
        for pid in self._pids().values():
            try:
                os.killpg(pid, signal.SIGTERM)
            except ProcessLookupError:
                continue
            self._wait_gone(pid, 20)
        Edge(nodes[0]).stop()
        for s in nodes:
            Pbx(s).stop()
        self.pg.stop()
        self.state.unlink(missing_ok=True)
        return was

    def status(self) -> dict[str, Any]:
        nodes = [self.node(i) for i in range(len(NODES))]
        edge = Edge(nodes[0])
        return {
            "postgres": self.pg.running(),
            "edge": [n.name + (" up" if n.up else " down") for n in edge.nodes()] if edge.pid() else None,
            "asterisk": {s.cluster.node: Pbx(s).supervisor_pid() is not None for s in nodes},
            "controllers": {n: _alive(p) for n, p in self._pids().items()},
        }

    def _serve(self, s: Settings) -> int:
        folder = Path(s.state_dir)
        folder.mkdir(parents=True, exist_ok=True)
        snapshot = folder.parent / "settings.json"
        fd = os.open(snapshot, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(s.model_dump_json())
        with open(folder.parent / "controller.log", "ab") as log:
            proc = subprocess.Popen(
                [sys.executable, "-m", "hotline", "serve"],
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
                start_new_session=True,
                env=dict(os.environ, HOTLINE_SETTINGS_FILE=str(snapshot)),
            )
        return proc.pid

    def _wait_healthy(self, s: Settings, pid: int, timeout: float = 120.0) -> None:
        url = f"http://{s.web.host}:{s.web.port}/api/health"
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if not _alive(pid):
                raise ClusterError(f"controller {s.cluster.node} exited; see {Path(s.state_dir).parent}/controller.log")
            try:
                with urllib.request.urlopen(url, timeout=2) as resp:  # noqa: S310 (loopback, our own URL)
                    if resp.status in (200, 503):
                        return
            except OSError:
                pass
            time.sleep(0.3)
        raise ClusterError(f"controller {s.cluster.node} did not answer on {url} within {timeout:.0f} s")

    def _pids(self) -> dict[str, int]:
        try:
            return {k: int(v) for k, v in json.loads(self.state.read_text())["controllers"].items()}
        except (FileNotFoundError, ValueError, KeyError):
            return {}

    def _controllers_alive(self) -> bool:
        return any(_alive(p) for p in self._pids().values())

    @staticmethod
    def _wait_gone(pid: int, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while _alive(pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        if _alive(pid):
            os.killpg(pid, signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    # A child we started and nobody reaped is a zombie: gone all the same.
    try:
        return Path(f"/proc/{pid}/stat").read_text().split()[2] != "Z"
    except (FileNotFoundError, IndexError):
        return False
