"""The supervisor's restart policy and the controller's view of PBX health: pure."""

from __future__ import annotations

from hotline.pbx.health import PbxHealth
from hotline.pbx.supervisor import RestartPolicy, SupervisorState, exit_reason


def test_restart_backoff_is_capped_and_resets_after_a_healthy_run() -> None:
    policy = RestartPolicy(initial=0.5, maximum=4.0, stable=60.0)
    assert [policy.next_delay(1.0) for _ in range(6)] == [0.5, 1.0, 2.0, 4.0, 4.0, 4.0]
    assert policy.next_delay(3600.0) == 0.5  # a crash after a long healthy run is retried at once
    assert exit_reason(-9) == "killed by SIGKILL" and exit_reason(137) == "killed by SIGKILL"
    assert exit_reason(1) == "exit code 1"


def test_supervisor_state_counts_crashes() -> None:
    s = SupervisorState(supervisor_pid=1).started(10)
    assert (s.state, s.asterisk_pid, s.restarts) == ("running", 10, 0)
    s = s.crashed("killed by SIGKILL", 0.5)
    assert (s.state, s.asterisk_pid, s.restarts, s.last_exit) == ("restarting", 0, 1, "killed by SIGKILL")
    assert s.started(11).restarts == 1


def test_health_keeps_when_it_went_down_and_the_last_outage() -> None:
    h = PbxHealth(since=0.0)
    assert not h.up
    h = h.back(5.0)  # first connection: not an outage
    assert h.up and h.outages == 0 and h.last_outage is None
    h = h.lost(100.0, "连接中断")
    assert not h.up and h.since == 100.0
    assert h.lost(103.0, "again") == h  # still down since 100
    h = h.back(112.5)
    assert h.up and h.outages == 1 and h.last_outage is not None
    assert h.last_outage.seconds == 12.5 and h.last_outage.reason == "连接中断"
    assert h.back(120.0) is h  # no change, nothing to announce


def test_the_banner_reads_the_hotline_clock() -> None:
    import zoneinfo

    from hotline.pbx.health import PbxWatch

    class Stub:
        def subscribe(self, _f: object) -> None: ...

        def on(self, *_a: object) -> None: ...

    watch = PbxWatch(
        Stub(),
        Stub(),
        None,
        clock=lambda: 1795780800.0,  # type: ignore[arg-type]
        tz=zoneinfo.ZoneInfo("Asia/Shanghai"),
    )
    watch.health = PbxHealth(since=1795780800.0).back(1795780800.0).lost(1795780810.0, "x").back(1795780812.5)
    view = watch.view()
    assert view["up"] and view["last_outage"]["seconds"] == 2.5
    assert view["last_outage"]["up_text"] == "20:00:12"  # 12:00:12 UTC, in Shanghai


def test_open_files_warn_at_four_fifths_of_the_limit_and_limits_text_is_read() -> None:
    from hotline.pbx.descriptors import FileUse, parse_limit

    assert not FileUse(819, 1024).near_limit and FileUse(820, 1024).near_limit
    assert not FileUse(5, 0).near_limit  # unlimited: nothing to warn of
    text = (
        "Limit                     Soft Limit           Hard Limit           Units     \n"
        "Max open files            1024                 20000                files     \n"
    )
    assert parse_limit(text) == 1024
    assert parse_limit("Max open files            unlimited            unlimited            files\n") == 0
