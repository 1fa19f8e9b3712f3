"""Run the bundled Asterisk in a bwrap sandbox: start, stop, status, cli.

The sandbox mounts the cached root filesystem read-only and binds this
instance's own folders over /etc/asterisk, /run/asterisk, /var/log/asterisk
and /var/spool/asterisk, so several instances (a running hotline and the test
suite) share one root filesystem without sharing state.

A small supervisor process (`hotline pbx run`) is bwrap's parent. bwrap gets
--die-with-parent: without it, killing bwrap was seen to leave Asterisk running
and holding port 5038. With it, whatever kills the supervisor also kills
Asterisk, and nothing is left behind.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

from hotline.config import Settings
from hotline.errors import HotlineError
from hotline.pbx import install
from hotline.pbx.render import ensure_hold_music, render_config


class PbxError(HotlineError):
    error_id = "pbx-error"


class PbxNotInstalled(PbxError):
    error_id = "pbx-not-installed"


class PbxBootFailed(PbxError):
    error_id = "pbx-boot-failed"


class PbxNotRunning(PbxError):
    error_id = "pbx-not-running"


@dataclass(frozen=True)
class Paths:
    base: Path

    @property
    def etc(self) -> Path:
        return self.base / "etc"

    @property
    def run(self) -> Path:
        return self.base / "run"

    @property
    def log(self) -> Path:
        return self.base / "log"

    @property
    def spool(self) -> Path:
        return self.base / "spool"

    @property
    def lib(self) -> Path:
        """Seen inside as /var/lib/asterisk/hotline: hold music, prompts."""
        return self.base / "lib"

    @property
    def pidfile(self) -> Path:
        return self.base / "supervisor.pid"

    @property
    def console_log(self) -> Path:
        return self.log / "console.log"

    @property
    def messages_log(self) -> Path:
        return self.log / "messages.log"


class Pbx:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.paths = Paths(settings.pbx.instance_dir)

    # -- sandbox -----------------------------------------------------------
    def bwrap_argv(self, *command: str) -> list[str]:
        p = self.paths
        return [
            "bwrap",
            "--ro-bind", str(self.settings.pbx.rootfs), "/",
            "--tmpfs", "/run",
            "--tmpfs", "/tmp",
            "--bind", str(p.etc), "/etc/asterisk",
            "--bind", str(p.run), "/run/asterisk",
            "--bind", str(p.log), "/var/log/asterisk",
            "--bind", str(p.spool), "/var/spool/asterisk",
            "--bind", str(p.lib), "/var/lib/asterisk/hotline",
            # Mandarin number words (digits/...), made by the controller.
            "--bind", str(p.lib / "sounds-zh"), "/usr/share/asterisk/sounds/zh",
            "--proc", "/proc",
            "--dev", "/dev",
            "--unshare-pid",
            "--unshare-ipc",
            "--die-with-parent",
            "--",
            *command,
        ]

    def prepare(self) -> None:
        if not install.is_installed(self.settings):
            raise PbxNotInstalled(
                f"no Asterisk in {self.settings.pbx.rootfs}; run `hotline pbx install` first"
            )
        # bwrap cannot create a mount point inside a read-only root.
        (self.settings.pbx.rootfs / "var/lib/asterisk/hotline").mkdir(exist_ok=True)
        (self.settings.pbx.rootfs / "usr/share/asterisk/sounds/zh").mkdir(exist_ok=True)
        p = self.paths
        for folder in (p.etc, p.run, p.log, p.spool, p.spool / "db", p.spool / "monitor", p.lib,
                       p.lib / "prompts", p.lib / "messages", p.lib / "recordings", p.lib / "sounds-zh" / "digits"):
            folder.mkdir(parents=True, exist_ok=True)
        render_config(self.settings, p.etc)
        ensure_hold_music(p.lib / "moh")

    # -- supervisor (foreground) ------------------------------------------
    def run_foreground(self) -> int:
        """Run Asterisk until it exits or we get SIGTERM/SIGINT; returns its exit code."""
        self.prepare()
        self.paths.pidfile.write_text(str(os.getpid()))
        log = open(self.paths.console_log, "ab")
        proc = subprocess.Popen(
            self.bwrap_argv("/usr/sbin/asterisk", "-f", "-n"),
            stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT,
        )

        class _Stop(Exception):
            pass

        def on_signal(signum: int, frame: object) -> None:
            raise _Stop()

        signal.signal(signal.SIGTERM, on_signal)
        signal.signal(signal.SIGINT, on_signal)
        try:
            return proc.wait()
        except _Stop:
            signal.signal(signal.SIGTERM, signal.SIG_IGN)
            signal.signal(signal.SIGINT, signal.SIG_IGN)
            with contextlib.suppress(Exception):
                self.cli("core stop now", timeout=8)
            try:
                return proc.wait(timeout=8)
            except subprocess.TimeoutExpired:
                proc.kill()
                return proc.wait()
        finally:
            log.close()
            with contextlib.suppress(FileNotFoundError):
                if self.paths.pidfile.read_text().strip() == str(os.getpid()):
                    self.paths.pidfile.unlink()

    # -- control -----------------------------------------------------------
    def supervisor_pid(self) -> int | None:
        try:
            pid = int(self.paths.pidfile.read_text().strip())
        except (FileNotFoundError, ValueError):
            return None
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return None
        return pid

    def _port_in_use(self) -> bool:
        with socket.socket() as s:
            s.settimeout(0.5)
            return s.connect_ex((self.settings.ami.host, self.settings.ami.port)) == 0

    def start(self, wait: bool = True) -> int:
        """Start the supervisor in its own session and wait for FullyBooted."""
        if (pid := self.supervisor_pid()) is not None:
            return pid
        self.prepare()
        if self._port_in_use():
            raise PbxError(
                f"AMI port {self.settings.ami.host}:{self.settings.ami.port} is already taken "
                "(another Asterisk?); stop it or set ami.port"
            )
        with contextlib.suppress(FileNotFoundError):
            self.paths.messages_log.unlink()
        # The supervisor must run with exactly these settings (tests build
        # them in code), so they travel as a private file, not argv or env.
        snapshot = self.paths.base / "settings.json"
        fd = os.open(snapshot, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(self.settings.model_dump_json())
        env = dict(os.environ, HOTLINE_SETTINGS_FILE=str(snapshot))
        sup_log = open(self.paths.log / "supervisor.log", "ab")
        proc = subprocess.Popen(
            [sys.executable, "-m", "hotline", "pbx", "run"],
            stdin=subprocess.DEVNULL, stdout=sup_log, stderr=subprocess.STDOUT,
            start_new_session=True, env=env,
        )
        sup_log.close()
        # Written here as well as by the supervisor, so a stop() that comes
        # before the child has run still finds it.
        self.paths.pidfile.write_text(str(proc.pid))
        if wait:
            self.wait_booted(proc)
        return proc.pid

    def wait_booted(self, proc: subprocess.Popen[bytes] | None = None) -> None:
        from hotline.ami.boot import wait_fully_booted

        def alive() -> bool:
            return proc.poll() is None if proc is not None else self.supervisor_pid() is not None

        ok = asyncio.run(wait_fully_booted(self.settings.ami, self.settings.pbx.boot_timeout, alive))
        if not ok:
            with contextlib.suppress(Exception):
                self.stop()
            why = ("exited during start-up" if not alive()
                   else f"did not come up within {self.settings.pbx.boot_timeout:.0f} s")
            raise PbxBootFailed(
                f"Asterisk {why}.\n"
                f"Last lines of {self.paths.messages_log}:\n{self.log_tail()}"
            )

    def stop(self, timeout: float = 20.0) -> bool:
        pid = self.supervisor_pid()
        if pid is None:
            return False
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.supervisor_pid() is None:
                return True
            time.sleep(0.1)
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(FileNotFoundError):
            self.paths.pidfile.unlink()
        return True

    def cli(self, command: str, timeout: float = 15.0) -> str:
        if not (self.paths.run / "asterisk.ctl").exists():
            raise PbxNotRunning("the bundled Asterisk is not running (`hotline pbx start`)")
        proc = subprocess.run(
            self.bwrap_argv("/usr/sbin/asterisk", "-rx", command),
            capture_output=True, text=True, timeout=timeout,
        )
        if proc.returncode != 0:
            raise PbxNotRunning(proc.stderr.strip() or proc.stdout.strip() or "asterisk -rx failed")
        return proc.stdout

    def status(self) -> dict[str, object]:
        pid = self.supervisor_pid()
        info: dict[str, object] = {
            "running": pid is not None,
            "supervisor_pid": pid,
            "rootfs": str(self.settings.pbx.rootfs),
            "instance": str(self.paths.base),
            "installed": install.asterisk_version(self.settings.pbx.rootfs) or None,
            "ami": f"{self.settings.ami.host}:{self.settings.ami.port}",
        }
        if pid is not None:
            with contextlib.suppress(PbxError, subprocess.TimeoutExpired):
                info["uptime"] = self.cli("core show uptime", timeout=5).strip()
        return info

    def log_tail(self, lines: int = 25) -> str:
        for path in (self.paths.messages_log, self.paths.console_log):
            with contextlib.suppress(FileNotFoundError):
                text = path.read_text(errors="replace").splitlines()
                if text:
                    return "\n".join(text[-lines:])
        return "(Asterisk wrote no log)"
