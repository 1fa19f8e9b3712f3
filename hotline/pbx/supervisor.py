"""The bundled PBX's supervisor (`hotline pbx run`): runs Asterisk in its
sandbox, restarts it whenever it dies with a capped doubling backoff that a
stable run resets, and records each exit in supervisor.json, which the
controller reads for /metrics and the seat map."""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import json
import os
import signal
import subprocess
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

from hotline.pbx.descriptors import raise_soft_limit


@dataclass
class RestartPolicy:
    """Capped exponential backoff between restarts; a long run resets it, so
    a crash after a healthy day is retried at once, a crash loop is not."""

    initial: float
    maximum: float
    stable: float
    crashes_in_a_row: int = 0

    def next_delay(self, ran_seconds: float) -> float:
        if ran_seconds >= self.stable:
            self.crashes_in_a_row = 0
        delay = min(self.maximum, self.initial * (2 ** min(self.crashes_in_a_row, 30)))
        self.crashes_in_a_row += 1
        return delay


@dataclass(frozen=True)
class SupervisorState:
    supervisor_pid: int
    asterisk_pid: int = 0
    state: str = "starting"  # running | restarting
    restarts: int = 0
    last_exit: str = ""
    last_exit_at: str = ""
    started_at: str = ""

    def started(self, pid: int) -> SupervisorState:
        return dataclasses.replace(self, asterisk_pid=pid, state="running", started_at=_now())

    def crashed(self, reason: str, delay: float) -> SupervisorState:
        return dataclasses.replace(
            self, asterisk_pid=0, state="restarting", restarts=self.restarts + 1, last_exit=reason, last_exit_at=_now()
        )


def exit_reason(code: int) -> str:
    """Popen's return code in words: negative codes are signals."""
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    # bwrap reports a signalled child as 128 + signal.
    if code > 128 and code - 128 < 65:
        with contextlib.suppress(ValueError):
            return f"killed by {signal.Signals(code - 128).name}"
    return f"exit code {code}"


def _now() -> str:
    return dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")


def _say(line: str) -> None:
    print(f"{_now()} supervisor: {line}", flush=True)


def descendant(root: int, name: str) -> int | None:
    children: dict[int, list[int]] = {}
    comm: dict[int, str] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            text = Path(f"/proc/{entry}/stat").read_text()
        except OSError:
            continue
        # pid (comm) state ppid ...: comm may hold spaces, so split after ')'.
        head, _, rest = text.rpartition(")")
        pid = int(entry)
        comm[pid] = head.partition("(")[2]
        children.setdefault(int(rest.split()[1]), []).append(pid)
    stack = [root]
    while stack:
        pid = stack.pop()
        if comm.get(pid) == name:
            return pid
        stack.extend(children.get(pid, ()))
    return None


def _child_setup() -> None:
    # Asterisk's logs, queue_log, recordings and spool hold personal data:
    # nothing it writes is readable by other users.
    os.umask(0o077)
    # A few descriptors per call: the inherited soft limit (often 1024) ran
    # out at about 300 calls and Asterisk dropped calls (pbx/descriptors.py).
    raise_soft_limit()


def run(
    argv: Sequence[str],
    policy: RestartPolicy,
    *,
    pidfile: Path,
    state_file: Path,
    console_log: Path,
    stop: Callable[[], object],
) -> int:
    """Run Asterisk (`argv`: its sandboxed command), restarting it whenever it
    dies, until SIGTERM/SIGINT; then `stop` asks it to stop (core stop now).

    Returns Asterisk's last exit code. Each crash is logged with its exit
    reason and counted in supervisor.json, which the controller reads for
    /metrics and the seat map.
    """
    pidfile.write_text(str(os.getpid()))
    stopping = False

    class _Stop(Exception):
        pass

    def on_signal(signum: int, frame: object) -> None:
        nonlocal stopping
        stopping = True
        raise _Stop()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    state = SupervisorState(supervisor_pid=os.getpid())
    proc: subprocess.Popen[bytes] | None = None
    code = 0
    log = open(console_log, "ab")
    try:
        while True:
            proc = subprocess.Popen(
                list(argv), stdin=subprocess.DEVNULL, stdout=log, stderr=subprocess.STDOUT, preexec_fn=_child_setup
            )
            started = time.monotonic()
            state = state.started(proc.pid)
            write_state(state_file, state)
            code = proc.wait()
            ran = time.monotonic() - started
            delay = policy.next_delay(ran)
            state = state.crashed(exit_reason(code), delay)
            write_state(state_file, state)
            _say(f"Asterisk exited ({state.last_exit}) after {ran:.1f} s; restart #{state.restarts} in {delay:.1f} s")
            time.sleep(delay)
    except _Stop:
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
        signal.signal(signal.SIGINT, signal.SIG_IGN)
        if proc is not None and proc.poll() is None:
            with contextlib.suppress(Exception):
                stop()
            try:
                code = proc.wait(timeout=8)
            except subprocess.TimeoutExpired:
                proc.kill()
                code = proc.wait()
        return code
    finally:
        log.close()
        with contextlib.suppress(FileNotFoundError):
            state_file.unlink()
        with contextlib.suppress(FileNotFoundError):
            if pidfile.read_text().strip() == str(os.getpid()):
                pidfile.unlink()


def write_state(path: Path, state: SupervisorState) -> None:
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(dataclasses.asdict(state), fh)
    os.replace(tmp, path)


def read_state(path: Path) -> SupervisorState | None:
    """What the supervisor last wrote, or None when none runs."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return SupervisorState(**data)
    except (FileNotFoundError, ValueError, TypeError):
        return None
