"""`hotline seatmap`: the same live seat map in a terminal, for a lead on a shell."""

from __future__ import annotations

import asyncio
import getpass
import json
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
from rich.console import Group
from rich.live import Live
from rich.table import Table
from rich.text import Text

STYLE = {
    "offline": "dim",
    "ready": "green",
    "ringing": "yellow",
    "talking": "bold blue",
    "wrapup": "magenta",
    "paused": "red",
    "off_line": "white",
    "standby": "cyan",
    "desynced": "bold white on red",
}
WINDOWS = {"day": "日间", "default": "夜间", "holiday": "节假日"}


def render(view: dict[str, Any], columns: int = 6) -> Group:
    h = view["header"]
    head = Text(
        f"时段 {WINDOWS.get(h['window'], h['window'])}  在岗线路 {h['lines_staffed']}/{h['lines_target']}  "
        f"备班 {'上线' if h['standby'] else '未上线'}  排队 {h['waiting']} 人  最长等待 {h['longest_wait_s']:.0f} 秒"
    )
    if h["alert"]:
        head.append("  ⚠ 有来电等待超过 15 秒", style="bold white on red")
    table = Table(show_header=False, expand=True)
    for _ in range(columns):
        table.add_column()
    seats = sorted(view["seats"].values(), key=lambda s: s["seat"])
    for i in range(0, len(seats), columns):
        cells = []
        for s in seats[i : i + columns]:
            t = Text(f"{s['seat']} {s['agent']}\n", style="bold")
            t.append(s["text"], style=STYLE.get(s["state"], ""))
            if s["caller"]:
                t.append(f"\n{s['caller']} {s['category']}")
            cells.append(t)
        table.add_row(*cells)
    return Group(head, table)


async def follow(base_url: str, username: str, password: str) -> AsyncIterator[dict[str, Any]]:
    """Log in, then yield the whole map after every frame; reconnects by itself."""
    async with aiohttp.ClientSession(cookie_jar=aiohttp.CookieJar(unsafe=True)) as http:
        async with http.post(f"{base_url}/api/login", json={"username": username, "password": password}) as r:
            if r.status != 200:
                raise SystemExit(f"登录失败：{(await r.json()).get('message', r.status)}")
        view: dict[str, Any] = {}
        while True:
            try:
                async with http.ws_connect(f"{base_url}/ws/seatmap", origin=base_url.rstrip("/")) as ws:
                    async for msg in ws:
                        m = json.loads(msg.data)
                        if m["type"] == "snapshot":
                            view = {
                                "header": m["header"],
                                "seats": m["seats"],
                                "columns": m.get("floor", {}).get("columns", 6),
                            }
                        else:
                            view["header"] = m.get("header", view["header"])
                            view["seats"].update(m.get("seats", {}))
                        yield view
            except aiohttp.ClientError:
                pass
            await asyncio.sleep(1)  # reconnect; the server sends a fresh snapshot


async def run(base_url: str, username: str, password: str) -> None:
    with Live(auto_refresh=False) as live:
        async for view in follow(base_url, username, password):
            live.update(render(view, view.get("columns", 6)), refresh=True)


def main(base_url: str, username: str) -> int:
    password = getpass.getpass(f"{username} 的密码：")
    try:
        asyncio.run(run(base_url.rstrip("/"), username, password))
    except KeyboardInterrupt:
        pass
    return 0
