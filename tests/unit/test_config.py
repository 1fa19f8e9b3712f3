from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from hotline.cli import main
from hotline.config import ConfigError, WebSettings
from hotline.configfile import load, masked
from hotline.credentials import ensure_secrets


def write(tmp_path: Path, text: str) -> Path:
    p = tmp_path / "hotline.toml"
    p.write_text(text, encoding="utf-8")
    return p


def problems(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load(path)
    return info.value.problems


def test_defaults_are_loopback_and_documented_ports(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    s = load()
    assert (s.ami.host, s.ami.port) == ("127.0.0.1", 5038)
    assert (s.agi.host, s.agi.port) == ("127.0.0.1", 4573)
    assert (s.web.host, s.web.port) == ("127.0.0.1", 8080)
    assert s.seats.names()[0] == "seat01" and s.seats.names()[-1] == "seat26"


def test_error_names_key_and_reason(tmp_path: Path) -> None:
    msgs = problems(write(tmp_path, "[ami]\nport = 70000\n"))
    assert msgs == ["ami.port: Input should be less than or equal to 65535 (got 70000)"]


def test_unknown_key_is_named(tmp_path: Path) -> None:
    assert problems(write(tmp_path, "[ami]\nprot = 5038\n")) == ["ami.prot: unknown key"]


def test_several_problems_reported_together(tmp_path: Path) -> None:
    msgs = problems(write(tmp_path, "[seats]\ncount = 0\n[pbx]\nrtp_start = 20000\nrtp_end = 10000\n"))
    assert any(m.startswith("seats.count:") for m in msgs)
    assert any(m.startswith("pbx:") and "rtp_end must be greater" in m for m in msgs)


def test_bad_legacy_number(tmp_path: Path) -> None:
    msgs = problems(write(tmp_path, '[legacy_numbers]\n"12a45" = "x"\n'))
    assert len(msgs) == 1 and msgs[0].startswith("legacy_numbers: '12a45' is not a dialable number")


def test_not_toml(tmp_path: Path) -> None:
    msgs = problems(write(tmp_path, "[ami\n"))
    assert "not valid TOML" in msgs[0]


def test_environment_overrides_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = write(tmp_path, "[ami]\nport = 6000\n")
    monkeypatch.setenv("HOTLINE_AMI__PORT", "6001")
    assert load(path).ami.port == 6001
    monkeypatch.setenv("HOTLINE_AMI__PORT", "many")
    assert problems(path)[0].startswith("ami.port: Input should be a valid integer")


def test_relative_paths_follow_the_file(tmp_path: Path) -> None:
    path = write(tmp_path, 'state_dir = "data"\n')
    assert load(path).state_dir == tmp_path / "data"


def test_secrets_generated_once_private_and_masked(tmp_path: Path) -> None:
    s = load(write(tmp_path, 'state_dir = "st"\n[seats]\ncount = 3\n'))
    first = ensure_secrets(s)
    mode = stat.S_IMODE(os.stat(s.secrets_file).st_mode)
    assert mode == 0o600
    assert sorted(first["seat_passwords"]) == ["seat01", "seat02", "seat03"]
    assert ensure_secrets(s) == first  # never rotated behind the operator's back
    again = load(tmp_path / "hotline.toml")
    assert again.ami.secret == first["ami_secret"]
    shown = masked(again)
    assert shown["ami"]["secret"] == "********"
    assert first["ami_secret"] not in str(shown)


def test_config_show_masks_and_exit_codes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = write(tmp_path, 'state_dir = "st"\n[ami]\nsecret = "hunter2"\n')
    assert main(["-c", str(good), "config", "show"]) == 0
    out = capsys.readouterr().out
    assert "hunter2" not in out and 'secret = "********"' in out
    bad = write(tmp_path, "[web]\nport = -1\n")
    assert main(["-c", str(bad), "config", "show"]) == 2
    assert "web.port:" in capsys.readouterr().err


def test_a_snapshot_is_not_changed_by_the_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    from hotline.configfile import from_snapshot

    original = load(None, state_dir=str(tmp_path / "demo"), ami={"secret": "handed-over"})
    monkeypatch.setenv("HOTLINE_STATE_DIR", str(tmp_path / "other"))
    monkeypatch.setenv("HOTLINE_AMI__SECRET", "")
    copy = from_snapshot(original.model_dump_json())
    assert copy.state_dir == original.state_dir and copy.ami.secret == "handed-over"


def test_the_demo_shows_every_service_on_a_default_installation_and_never_reaches_a_real_110(tmp_path: Path) -> None:
    import datetime as dt

    from hotline.demo import demo_settings
    from hotline.ivr.schedule import Calendar

    real = load(None, state_dir=str(tmp_path), police={"url": "https://110.example.gov.cn/api"})
    assert real.carmove.pool == []  # car moving is off until an operator gives pool numbers
    demo = demo_settings(real, agents=6)
    assert demo.carmove.pool and demo.police.url.startswith("http://127.0.0.1:")
    assert demo.state_dir == tmp_path / "demo" and demo.seats.count >= 7  # six agents and the lawyer
    # The day menu (car moving, lawyers) and lawyer hours at 3 a.m. on a Sunday.
    cal = Calendar.from_settings(demo.ivr)
    night = dt.datetime(2026, 11, 29, 3, 0, tzinfo=cal.tz)
    assert cal.within("day", night) and cal.within("lawyer", night)
    assert not Calendar.from_settings(real.ivr).within("lawyer", night)


def test_the_web_is_https_off_loopback_so_a_browser_grants_the_desk_its_microphone() -> None:
    assert not WebSettings().https and not WebSettings(host="::1").https
    assert WebSettings(host="0.0.0.0").https and WebSettings(host="10.12.0.5").https
    assert not WebSettings(host="10.12.0.5", tls="off").https  # behind a proxy that does TLS
    assert WebSettings(tls="on").https
