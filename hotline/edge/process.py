"""Run Kamailio as the hotline's SIP edge: render, check, start, stop, status.

Kamailio comes from Debian (`apt-get install kamailio`, scripts/bootstrap);
the system's own service is never used: this instance runs with the
configuration rendered into edge.instance_dir, as the service user."""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

from hotline.config import Settings
from hotline.edge.nodes import NodeState, parse_dispatcher_list, parse_steered
from hotline.edge.render import libpq_environment, render_edge
from hotline.edge.rpc import EdgeRpcError, rpc_sync
from hotline.errors import HotlineError


class EdgeError(HotlineError):
    error_id = "edge-error"


class EdgeNotInstalled(EdgeError):
    error_id = "edge-not-installed"


class EdgeBootFailed(EdgeError):
    error_id = "edge-boot-failed"


class Edge:
    def __init__(self, settings: Settings):
        self.settings = settings
        base = settings.edge.instance_dir
        self.etc = base / "etc"
        self.run = base / "run"
        self.log = base / "log" / "kamailio.log"
        # Ours (Kamailio runs in the foreground: its pid is the child's).
        self.pidfile = self.run / "edge.pid"
        self._child: subprocess.Popen[bytes] | None = None

    @property
    def rpc_socket(self) -> Path:
        return self.run / "rpc.sock"

    def pid(self) -> int | None:
        try:
            pid = int(self.pidfile.read_text().strip())
            os.kill(pid, 0)
        except (FileNotFoundError, ValueError, ProcessLookupError):
            return None
        return pid

    def render(self) -> list[Path]:
        for folder in (self.run, self.log.parent):
            folder.mkdir(parents=True, exist_ok=True)
            os.chmod(folder, 0o700)
        return render_edge(self.settings, self.etc, self.run)

    def check(self) -> None:
        """Kamailio's own check of the rendered configuration (`kamailio -c`)."""
        self._binary()
        done = subprocess.run(
            [str(self.settings.edge.binary), "-c", "-f", str(self.etc / "kamailio.cfg")],
            capture_output=True,
            text=True,
            timeout=30,
        )
        if done.returncode != 0:
            raise EdgeError("kamailio.cfg does not load:\n" + (done.stderr or done.stdout)[-3000:])

    def prepared_argv(self) -> list[str]:
        """Render, check, and the command line that runs Kamailio in the foreground."""
        if not self.settings.edge.enabled:
            raise EdgeError("the edge is off: set [edge] enabled = true and list its nodes ([[edge.nodes]])")
        self.render()
        self.check()
        e = self.settings.edge
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            try:
                probe.bind((e.host, e.sip_port))
            except OSError as exc:
                raise EdgeError(
                    f"SIP port {e.host}:{e.sip_port} is taken ({exc.strerror}); set edge.sip_port"
                ) from None
        argv = [str(e.binary), "-DD", "-E", "-f", str(self.etc / "kamailio.cfg"), "-Y", str(self.run)]
        argv += ["-m", "64", "-M", "8"]
        if os.geteuid() == 0:
            argv += ["-u", self.settings.service_user, "-g", self.settings.service_user]
        return argv

    def environment(self) -> dict[str, str]:
        """Kamailio's environment: ours, plus where the seats' passwords are."""
        return {**os.environ, **libpq_environment(self.settings)}

    def start(self) -> int:
        if (pid := self.pid()) is not None:
            return pid
        argv = self.prepared_argv()
        log = open(self.log, "ab")
        proc = subprocess.Popen(
            argv,
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=self.environment(),
        )
        log.close()
        self._child = proc
        self.pidfile.write_text(str(proc.pid))
        self._wait_ready(proc)
        return proc.pid

    def _wait_ready(self, proc: subprocess.Popen[bytes]) -> None:
        deadline = time.monotonic() + self.settings.edge.boot_timeout
        last = ""
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                raise EdgeBootFailed(f"Kamailio exited during start-up:\n{self.log_tail()}")
            try:
                rpc_sync(self.rpc_socket, "core.version", timeout=0.5)
                return
            except EdgeRpcError as exc:
                last = str(exc)
            time.sleep(0.1)
        self.stop()
        raise EdgeBootFailed(f"Kamailio did not answer its RPC within the boot timeout ({last}):\n{self.log_tail()}")

    def stop(self, timeout: float = 10.0) -> bool:
        pid = self.pid()
        if pid is None:
            return False
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while self.pid() is not None and time.monotonic() < deadline:
            if self._child is not None and self._child.poll() is not None:
                break
            time.sleep(0.05)
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pid, signal.SIGKILL)
        if self._child is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._child.wait(5)
        self.pidfile.unlink(missing_ok=True)
        return True

    def nodes(self) -> list[NodeState]:
        return parse_dispatcher_list(rpc_sync(self.rpc_socket, "dispatcher.list"))

    def steered(self) -> list[str]:
        """Where the edge sends new calls now, in turn (empty: round robin)."""
        return parse_steered(rpc_sync(self.rpc_socket, "htable.dump", "steer"))

    def log_tail(self, lines: int = 25) -> str:
        with contextlib.suppress(FileNotFoundError):
            return "\n".join(self.log.read_text(errors="replace").splitlines()[-lines:])
        return "(Kamailio wrote no log)"

    def _binary(self) -> None:
        if not self.settings.edge.binary.is_file():
            raise EdgeNotInstalled(f"{self.settings.edge.binary} is missing (scripts/bootstrap installs kamailio)")
