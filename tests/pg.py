"""A private PostgreSQL server for the test session (never the system one).

initdb into a fresh folder, listen on loopback only at the configured port,
trust authentication (nothing but this test run can reach it), and one new
database per test. As root, the server runs as the 'postgres' account,
because PostgreSQL refuses to run as root.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
import tempfile
import uuid
from pathlib import Path

import asyncpg


def _bindir() -> Path | None:
    found = sorted(glob.glob("/usr/lib/postgresql/*/bin/initdb"), key=lambda p: int(p.split("/")[4]))
    return Path(found[-1]).parent if found else None


class PostgresServer:
    def __init__(self, port: int):
        self.port = port
        self.bindir = _bindir()
        self.base = Path(tempfile.mkdtemp(prefix="hotline-pg-"))
        self.data = self.base / "data"
        self._as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    @property
    def available(self) -> bool:
        return self.bindir is not None

    def start(self) -> None:
        assert self.bindir is not None
        if self._as:
            shutil.chown(self.base, "postgres", "postgres")
        try:
            subprocess.run(
                [
                    *self._as,
                    str(self.bindir / "initdb"),
                    "-D",
                    str(self.data),
                    "-U",
                    "hotline",
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--locale=C.UTF-8",
                ],
                check=True,
                capture_output=True,
            )
            self._pg_ctl("start")
        except subprocess.CalledProcessError as exc:
            log = self.base / "server.log"
            tail = log.read_text(errors="replace")[-1500:] if log.exists() else exc.stderr.decode(errors="replace")
            self.stop()
            raise RuntimeError(f"PostgreSQL for the tests did not start on 127.0.0.1:{self.port}:\n{tail}") from None

    def start_standby_of(self, primary: PostgresServer) -> None:
        """This server as a streaming standby of primary (pg_basebackup -R)."""
        assert self.bindir is not None
        if self._as:
            shutil.chown(self.base, "postgres", "postgres")
        subprocess.run(
            [*self._as, str(self.bindir / "pg_basebackup"), "-h", "127.0.0.1", "-p", str(primary.port), "-U", "hotline"]
            + ["-D", str(self.data), "-R", "-X", "stream", "-c", "fast"],
            check=True,
            capture_output=True,
        )
        self._pg_ctl("start")

    def promote(self) -> None:
        """What an operator's failover tooling does to a standby."""
        self._pg_ctl("promote")

    def crash(self) -> None:
        """The server's machine fails: stopped at once, its folder kept."""
        self._pg_ctl("stop", "-m", "immediate")

    def _pg_ctl(self, *args: str) -> None:
        assert self.bindir is not None
        options = f"-p {self.port} -k {self.base} -c listen_addresses=127.0.0.1"
        subprocess.run(
            [*self._as, str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.base / "server.log")]
            + ["-w", "-t", "60", "-o", options, *args],
            check=True,
            capture_output=True,
        )

    def restart(self) -> None:
        """A fast restart, as an operator's would be: open connections are cut."""
        assert self.bindir is not None
        subprocess.run(
            [
                *self._as,
                str(self.bindir / "pg_ctl"),
                "-D",
                str(self.data),
                "-l",
                str(self.base / "server.log"),
                "-m",
                "fast",
                "-w",
                "-t",
                "60",
                "restart",
            ],
            check=True,
            capture_output=True,
        )

    def stop(self) -> None:
        if self.bindir is not None and self.data.exists():
            subprocess.run(
                [*self._as, str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", "immediate", "stop"],
                capture_output=True,
            )
        shutil.rmtree(self.base, ignore_errors=True)

    async def new_database(self) -> str:
        name = f"t_{uuid.uuid4().hex[:12]}"
        conn = await asyncpg.connect(host="127.0.0.1", port=self.port, user="hotline", database="postgres")
        try:
            await conn.execute(f'CREATE DATABASE "{name}"')
        finally:
            await conn.close()
        return f"postgresql+asyncpg://hotline@127.0.0.1:{self.port}/{name}"
