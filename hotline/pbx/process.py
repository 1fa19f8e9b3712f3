"""Run the bundled Asterisk in a bwrap sandbox: start, stop, status, cli.

The sandbox mounts the cached root filesystem read-only and binds this
instance's own folders over /etc/asterisk, /run/asterisk, /var/log/asterisk
and /var/spool/asterisk, so several instances (a running hotline and the test
suite) share one root filesystem without sharing state.

The supervisor (`hotline pbx run`, pbx/supervisor.py) is bwrap's parent, and
bwrap has --die-with-parent: killing bwrap alone was seen to leave Asterisk
holding port 5038; now whatever kills the supervisor also kills Asterisk.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
import socket
import subprocess
import sys
import time

from hotline.config import Settings
from hotline.pbx import install, supervisor
from hotline.pbx.errors import PbxBootFailed, PbxError, PbxNotInstalled, PbxNotRunning
from hotline.pbx.paths import Paths
from hotline.pbx.render import ensure_hold_music, render_config
from hotline.pbx.supervisor import SupervisorState, descendant, read_state

log = logging.getLogger(__name__)


class Pbx:
    def __init__(self, settings: Settings):
        self.settings = settings
        self.paths = Paths(settings.pbx.instance_dir)
        self._child: subprocess.Popen[bytes] | None = None  # the supervisor this object started

    # -- sandbox -----------------------------------------------------------
    def bwrap_argv(self, *command: str) -> list[str]:
        p = self.paths
        return [
            "bwrap",
            "--ro-bind",
            str(self.settings.pbx.rootfs),
            "/",
            "--tmpfs",
            "/run",
            "--tmpfs",
            "/tmp",
            "--bind",
            str(p.etc),
            "/etc/asterisk",
            "--bind",
            str(p.run),
            "/run/asterisk",
            "--bind",
            str(p.log),
            "/var/log/asterisk",
            "--bind",
            str(p.spool),
            "/var/spool/asterisk",
            "--bind",
            str(p.lib),
            "/var/lib/asterisk/hotline",
            # Mandarin number words (digits/...), made by the controller.
            "--bind",
            str(p.lib / "sounds-zh"),
            "/usr/share/asterisk/sounds/zh",
            "--proc",
            "/proc",
            "--dev",
            "/dev",
            # A user namespace and no capabilities: Asterisk runs as the
            # unprivileged service user (never root, see privileges.py) and
            # holds no capability over anything outside the sandbox.
            "--unshare-user",
            "--cap-drop",
            "ALL",
            "--unshare-pid",
            "--unshare-ipc",
            "--die-with-parent",
            "--",
            *command,
        ]

    def prepare(self) -> None:
        if not install.is_installed(self.settings):
            raise PbxNotInstalled(f"no Asterisk in {self.settings.pbx.rootfs}; run `hotline pbx install` first")
        for point in install.MOUNT_POINTS:
            if not (self.settings.pbx.rootfs / point).is_dir():
                raise PbxNotInstalled(f"{self.settings.pbx.rootfs} lacks /{point}; run `hotline pbx install` again")
        p = self.paths
        # Logs, queue_log, recordings and voice messages hold personal data:
        # every folder is the service user's alone (Asterisk runs as it too).
        p.base.mkdir(parents=True, exist_ok=True)
        os.chmod(p.base, 0o700)
        for folder in (
            p.etc,
            p.run,
            p.log,
            p.spool,
            p.spool / "db",
            p.spool / "monitor",
            p.lib,
            p.lib / "prompts",
            p.lib / "messages",
            p.lib / "recordings",
            p.lib / "sounds-zh",
            p.lib / "sounds-zh" / "digits",
        ):
            folder.mkdir(parents=True, exist_ok=True)
            os.chmod(folder, 0o700)
        render_config(self.settings, p.etc)
        ensure_hold_music(p.lib / "moh")

    # -- supervisor (foreground) ------------------------------------------
    def run_foreground(self) -> int:
        """Run Asterisk under the supervisor (pbx/supervisor.py) until SIGTERM/SIGINT."""
        self.prepare()
        p, cfg = self.paths, self.settings.pbx
        return supervisor.run(
            self.bwrap_argv("/usr/sbin/asterisk", "-f", "-n"),
            supervisor.RestartPolicy(cfg.restart_initial, cfg.restart_max, cfg.restart_stable),
            pidfile=p.pidfile,
            state_file=p.state_file,
            console_log=p.console_log,
            stop=lambda: self.cli("core stop now", timeout=8),
        )

    def supervisor_state(self) -> SupervisorState | None:
        """What the supervisor last wrote, or None when none runs."""
        return read_state(self.paths.state_file)

    def asterisk_pid(self) -> int | None:
        """Asterisk's own pid (a descendant of the sandbox the supervisor started)."""
        state = self.supervisor_state()
        if state is None or not state.asterisk_pid:
            return None
        return descendant(state.asterisk_pid, "asterisk")

    # -- control -----------------------------------------------------------
    def supervisor_pid(self) -> int | None:
        if self._child is not None and self._child.poll() is not None:
            return None  # ours, and it ended (a zombie until reaped would still take a signal)
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

    def owner(self) -> str:
        """Who started the running PBX: "serve" (`serve --with-pbx`, which stops
        it again) or "cli" (`hotline pbx start`, kept until `pbx stop`)."""
        try:
            return (self.paths.base / "owner").read_text().strip()
        except FileNotFoundError:
            return ""

    def start(self, wait: bool = True, owner: str = "cli") -> int:
        """Start the supervisor in its own session and wait for FullyBooted.

        An Asterisk still running but not booted by pbx.boot_timeout is
        stopped and started once more before start() gives up."""
        try:
            return self._start_once(wait, owner)
        except PbxBootFailed as exc:
            if not exc.hung:
                raise
            log.warning("%s\nStarting it once more.", exc)
            return self._start_once(wait, owner)

    def _start_once(self, wait: bool, owner: str) -> int:
        if (pid := self.supervisor_pid()) is not None:
            return pid
        if self._child is not None:
            # Our previous supervisor, on its way out: reaped here, not by the GC (which warns).
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._child.wait(10)
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
            stdin=subprocess.DEVNULL,
            stdout=sup_log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            env=env,
        )
        sup_log.close()
        self._child = proc  # reaped by stop(): a daemon, but still our child
        # Written here as well as by the supervisor, so a stop() that comes
        # before the child has run still finds it.
        self.paths.pidfile.write_text(str(proc.pid))
        (self.paths.base / "owner").write_text(owner)
        if wait:
            self.wait_booted(proc)
        return proc.pid

    def wait_booted(self, proc: subprocess.Popen[bytes] | None = None) -> None:
        from hotline.ami.boot import BootWait, wait_fully_booted

        def alive() -> bool:
            return proc.poll() is None if proc is not None else self.supervisor_pid() is not None

        seen = BootWait()
        if asyncio.run(wait_fully_booted(self.settings.ami, self.settings.pbx.boot_timeout, alive, seen)):
            return
        hung = alive()  # judged before stop(), which ends the process either way
        with contextlib.suppress(Exception):
            self.stop()
        why = f"did not come up within {self.settings.pbx.boot_timeout:.0f} s: {seen.describe()}"
        failed = PbxBootFailed(
            f"Asterisk {why if hung else 'exited during start-up'}.\n"
            f"Last lines of {self.paths.messages_log}:\n{self.log_tail()}"
        )
        failed.hung = hung
        raise failed

    def stop(self, timeout: float = 20.0) -> bool:
        pid = self.supervisor_pid()
        if pid is None:
            return False
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while self.supervisor_pid() is not None:
            if time.monotonic() > deadline:
                with contextlib.suppress(ProcessLookupError):
                    os.kill(pid, signal.SIGKILL)
                with contextlib.suppress(FileNotFoundError):
                    self.paths.pidfile.unlink()
                break
            time.sleep(0.1)
        self._reap()
        return True

    def _reap(self) -> None:
        if self._child is not None:
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._child.wait(5)

    def cli(self, command: str, timeout: float = 15.0) -> str:
        if not (self.paths.run / "asterisk.ctl").exists():
            raise PbxNotRunning("the bundled Asterisk is not running (`hotline pbx start`)")
        proc = subprocess.run(
            self.bwrap_argv("/usr/sbin/asterisk", "-rx", command), capture_output=True, text=True, timeout=timeout
        )
        if proc.returncode != 0:
            raise PbxNotRunning(proc.stderr.strip() or proc.stdout.strip() or "asterisk -rx failed")
        return proc.stdout

    # What a configuration change touches, reloaded in this order: SIP
    # (endpoints, trunks, ACLs), trunk registrations, then the dialplan that
    # names them. Calls in progress are kept; queues and AMI are not touched.
    RELOAD_MODULES = ("res_pjsip.so", "res_pjsip_outbound_registration.so", "pbx_config.so")

    def reload(self) -> None:
        """Render the configuration again and apply it without a restart.

        Transports (ports, TLS files) are the exception: Asterisk binds them
        once, so changing those needs `hotline pbx stop` and start.
        """
        render_config(self.settings, self.paths.etc)
        for module in self.RELOAD_MODULES:
            out = self.cli(f"module reload {module}")
            if "reloaded successfully" not in out and "queued" not in out:
                raise PbxError(f"reloading {module} failed: {out.strip()}")

    def log_tail(self, lines: int = 25) -> str:
        for path in (self.paths.messages_log, self.paths.console_log):
            with contextlib.suppress(FileNotFoundError):
                text = path.read_text(errors="replace").splitlines()
                if text:
                    return "\n".join(text[-lines:])
        return "(Asterisk wrote no log)"
