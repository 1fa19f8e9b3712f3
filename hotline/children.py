"""A feature's work in a child process of its own (`python -m module`):
its stdin written while its output is read, and the child killed if the
caller is cancelled or it outlives its timeout."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable


async def run_module(
    module: str, feed: Callable[[asyncio.StreamWriter], Awaitable[None]], timeout: float
) -> tuple[int, bytes, bytes]:
    """The child's exit code, stdout and stderr."""
    proc = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        module,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
    )
    assert proc.stdin is not None and proc.stdout is not None and proc.stderr is not None
    stdin = proc.stdin

    async def write() -> None:
        try:
            await feed(stdin)
            await stdin.drain()
            stdin.close()
        except (BrokenPipeError, ConnectionResetError):
            pass  # the child died: its exit code and stderr say why

    try:
        async with asyncio.timeout(timeout), asyncio.TaskGroup() as tg:
            tg.create_task(write())
            out = tg.create_task(proc.stdout.read())
            err = tg.create_task(proc.stderr.read())
        await proc.wait()
    except BaseException:
        if proc.returncode is None:
            proc.kill()
            await proc.wait()
        raise
    assert proc.returncode is not None
    return proc.returncode, out.result(), err.result()
