"""Waiting for Asterisk to boot never hangs on one FullyBooted event that went astray."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from hotline.ami import boot
from hotline.ami.boot import BootWait, wait_fully_booted
from hotline.config import AmiSettings
from tests.unit.fake_ami import FakeAMI


@pytest.fixture
async def fake() -> AsyncIterator[FakeAMI]:
    server = FakeAMI()
    await server.start()
    yield server
    await server.close()


def settings(port: int) -> AmiSettings:
    return AmiSettings(port=port, secret="x", ping_interval=5, ping_timeout=5)


async def test_the_event_is_enough(fake: FakeAMI, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(boot, "ASK_AFTER", 30.0)
    fake.booted_output = None
    fake.on_login = b"Event: FullyBooted\r\nPrivilege: system,all\r\nStatus: Fully Booted\r\n\r\n"
    seen = BootWait()
    assert await wait_fully_booted(settings(fake.port), 10, seen=seen)
    assert seen.asked == 0 and fake.logins == 1


async def test_without_the_event_it_asks_and_a_booted_asterisk_answers(
    fake: FakeAMI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(boot, "ASK_AFTER", 0.3)
    fake.booted_output = "Asterisk has fully booted."
    seen = BootWait()
    assert await wait_fully_booted(settings(fake.port), 10, seen=seen)
    assert seen.asked == 1
    asked = [m for m in fake.actions if m.get("Action") == "Command"]
    assert [m.get("Command") for m in asked] == ["core waitfullybooted"]


async def test_an_asterisk_that_never_boots_fails_with_what_was_seen(
    fake: FakeAMI, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(boot, "ASK_AFTER", 0.3)
    seen = BootWait()
    assert not await wait_fully_booted(settings(fake.port), 2.5, seen=seen)
    assert seen.asked >= 2 and seen.logins == 1
    assert "no FullyBooted event" in seen.describe()
    assert "AMITimeout" in seen.describe()


async def test_nobody_listening_says_so() -> None:
    seen = BootWait()
    assert not await wait_fully_booted(settings(1), 1.0, seen=seen)
    assert seen.logins == 0
    assert seen.describe().startswith("AMI never completed a login (")
    assert "Connection" in seen.describe() or "Errno" in seen.describe()


async def test_a_process_that_exits_ends_the_wait(fake: FakeAMI) -> None:
    seen = BootWait()
    assert not await wait_fully_booted(settings(fake.port), 30, alive=lambda: False, seen=seen)
