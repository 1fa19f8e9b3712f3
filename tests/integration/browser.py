"""Headless Debian Chromium driven by Playwright (no browser download)."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from urllib.parse import urlsplit

from playwright.async_api import Browser, Page, async_playwright

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
# Screenshots of each page, to look at: one folder per user, so runs by
# different accounts on one machine do not trip over each other's files.
SHOTS = Path(os.environ.get("HOTLINE_SCREENSHOTS", Path(tempfile.gettempdir()) / f"hotline-screenshots-{os.getuid()}"))
# The machine has no network beyond loopback: keep Chromium from trying.
ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


# A browser phone's media: a fake microphone playing `microphone` (a WAV
# file, looped), no permission prompt, remote audio played without a click,
# and WebRTC allowed on loopback (the only interface here).
def media_args(microphone: Path) -> list[str]:
    return [
        "--use-fake-device-for-media-stream",
        "--use-fake-ui-for-media-stream",
        f"--use-file-for-fake-audio-capture={microphone}",
        "--autoplay-policy=no-user-gesture-required",
        "--allow-loopback-in-peer-connection",
    ]


@asynccontextmanager
async def chromium(extra: list[str] | None = None) -> AsyncIterator[Browser]:
    async with async_playwright() as p:
        browser = await p.chromium.launch(executable_path=CHROMIUM, args=ARGS + (extra or []))
        try:
            yield browser
        finally:
            await browser.close()


async def sign_in(page: Page, username: str, password: str, lands: str) -> None:
    """On the login page a redirect brought the browser to: sign in, and wait
    until the browser is on `lands` (a path)."""
    await page.fill("#u", username)
    await page.fill("#p", password)
    await page.click("button[type=submit]")
    await page.wait_for_url(lambda url: urlsplit(url).path == lands)
