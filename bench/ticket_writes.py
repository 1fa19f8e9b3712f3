"""Ticket writes per second on SQLite and on PostgreSQL.

Each write is what a gateway or a desk submit costs: a ticket numbered from
the day's sequence plus its first history row, in one committed (durable)
transaction. PostgreSQL is a private server started for the run (the same
helper the tests use), on loopback.

    .venv/bin/python -m bench.ticket_writes [--tickets 2000] [--concurrency 16] [--pg-port 25432]
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import tempfile
import time

from bench.common import ROOT, percentile
from bench.record import record
from hotline.configfile import load
from hotline.db.engine import make_engine, sessionmaker
from hotline.db.migrate import upgrade_async
from hotline.tickets.store import TicketStore
from tests.pg import PostgresServer

FORM = {
    "category": "env-noise",
    "district": "东城区",
    "address": "幸福路1号",
    "content": "夜间噪音扰民",
    "caller": "13800001234",
}


async def measure(url: str, tmp: str, tickets: int, concurrency: int) -> tuple[float, list[float]]:
    settings = load(ROOT / "bench" / "hotline-bench.toml", state_dir=f"{tmp}/state", database={"url": url})
    await upgrade_async(settings)
    engine = make_engine(settings)
    store = TicketStore(settings, sessionmaker(engine), lambda: dt.datetime.now(dt.timezone.utc))
    latencies: list[float] = []
    todo = iter(range(tickets))

    async def worker() -> None:
        for _ in todo:
            t0 = time.perf_counter()
            await store.create("sms", "bench", FORM)
            latencies.append(time.perf_counter() - t0)

    t0 = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall = time.perf_counter() - t0
    assert await store.count() == tickets
    await engine.dispose()
    return tickets / wall, latencies


async def run(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory(prefix="hotline-bench-") as tmp:
        rate, lat = await measure(f"sqlite+aiosqlite:///{tmp}/writes.db", tmp, args.tickets, args.concurrency)
        report("SQLite (WAL, synchronous=FULL)", rate, lat)
        record(
            "ticket_writes",
            {"sqlite_per_s": rate, "sqlite_write_p99_ms": 1000 * percentile(lat, 99)},
            higher_is_better=["sqlite_per_s"],
            units={"sqlite_per_s": "rate"},
        )
    pg = PostgresServer(args.pg_port)
    if not pg.available:
        print("PostgreSQL            not installed; skipped")
        return
    pg.start()
    try:
        with tempfile.TemporaryDirectory(prefix="hotline-bench-") as tmp:
            rate, lat = await measure(await pg.new_database(), tmp, args.tickets, args.concurrency)
            report("PostgreSQL 15 (fsync on)", rate, lat)
    finally:
        pg.stop()


def report(name: str, rate: float, lat: list[float]) -> None:
    ms = [x * 1000 for x in lat]
    print(
        f"{name:32s} {rate:7.0f} tickets/s   write p50 {percentile(ms, 50):.1f} ms  "
        f"p99 {percentile(ms, 99):.1f} ms  (n={len(ms)})"
    )


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__)
    p.add_argument("--tickets", type=int, default=2000)
    p.add_argument("--concurrency", type=int, default=16)
    p.add_argument("--pg-port", type=int, default=25432)
    asyncio.run(run(p.parse_args()))


if __name__ == "__main__":
    main()
