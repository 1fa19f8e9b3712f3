"""Pure parts of carrier trunks and the SIP guard: no PBX needed."""

from __future__ import annotations

from pathlib import Path

import pytest

from hotline.config import ConfigError, Trunk
from hotline.configfile import load
from hotline.pbx.render import context, render_config
from hotline.pbx.sipledger import BLOCK_ACL, Alert, Block, Challenges, FailureLedger, acl_actions
from hotline.pbx.trunks import TrunkBoard
from hotline.seats.credentials import auth_update, left
from hotline.seats.phone import ProvisioningLinks, linphone_xml, phone_details

A = Trunk(name="telecom-a", host="203.0.113.10", registration=True, username="hotline01", password="pw-1")
B = Trunk(name="telecom-b", host="203.0.113.20", match=["203.0.113.20"])


# -- trunk state -------------------------------------------------------------------


def test_a_trunk_is_up_when_qualified_and_registered() -> None:
    board = TrunkBoard([A, B], now=0)
    assert not board.states["telecom-a"].known and board.states["telecom-a"].reason == "正在探测"
    assert board.contact("telecom-a", "Reachable", 1800, now=1)
    assert not board.states["telecom-a"].up  # registration still unknown
    assert board.registration("telecom-a", "Registered", now=2)
    a = board.states["telecom-a"]
    assert a.up and a.rtt_ms == 1.8 and a.since == 2
    assert board.contact("telecom-b", "Reachable", 900, now=2) and board.states["telecom-b"].up


def test_a_lost_qualify_takes_it_down_and_a_new_round_trip_is_not_news() -> None:
    board = TrunkBoard([B], now=0)
    board.contact("telecom-b", "Reachable", 900, now=1)
    assert not board.contact("telecom-b", "Reachable", 1500, now=5)  # only the round trip changed
    assert board.states["telecom-b"].rtt_ms == 1.5 and board.states["telecom-b"].since == 1
    assert board.contact("telecom-b", "Unreachable", 0, now=9)
    b = board.states["telecom-b"]
    assert not b.up and b.since == 9 and "无应答" in b.reason and b.rtt_ms is None
    assert not board.contact("telecom-b", "Created", 0, now=10)  # says nothing about reachability
    assert not board.contact("nosuch", "Reachable", 1, now=10)


def test_a_rejected_registration_is_down_even_when_reachable() -> None:
    board = TrunkBoard([A], now=0)
    board.contact("telecom-a", "Reachable", 1000, now=1)
    board.registration("telecom-a", "Rejected", now=2)
    assert not board.states["telecom-a"].up and board.states["telecom-a"].reason == "注册失败"
    assert not board.registration("telecom-b", "Registered", now=3)


def test_forgetting_after_a_pbx_loss() -> None:
    board = TrunkBoard([B], now=0)
    board.contact("telecom-b", "Reachable", 900, now=1)
    assert board.forget(now=2) and not board.states["telecom-b"].known


# -- SIP guard ------------------------------------------------------------------------


def test_five_failures_in_the_window_block_one_address() -> None:
    ledger = FailureLedger(limit=5, window=60, block_seconds=3600, never=["127.0.0.1/32"])
    for i in range(4):
        assert ledger.failed("198.51.100.7", f"seat0{i}", now=i) is None
    block = ledger.failed("198.51.100.7", "admin", now=4)
    assert block is not None and block.failures == 5 and block.until == 3604
    assert block.accounts == ("seat00", "seat01", "seat02", "seat03", "admin")
    assert ledger.failed("198.51.100.7", "x", now=5) is None  # already blocked
    assert ledger.failed("198.51.100.8", "x", now=5) is None  # another address counts apart


def test_slow_failures_outside_the_window_never_block() -> None:
    ledger = FailureLedger(limit=3, window=10, block_seconds=60)
    for t in (0, 11, 22, 33, 44):
        assert ledger.failed("198.51.100.9", "seat01", now=t) is None


def test_exempt_addresses_and_expiry() -> None:
    ledger = FailureLedger(limit=1, window=10, block_seconds=60, never=["10.0.0.0/8", "::1/128"])
    assert ledger.failed("10.1.2.3", "seat01", now=0) is None
    assert ledger.failed("::1", "seat01", now=0) is None
    assert ledger.failed("not-an-ip", "seat01", now=0) is None
    assert ledger.failed("2001:db8::5", "seat01", now=0) is not None
    assert ledger.next_expiry() == 60
    assert ledger.expire(now=59) == [] and [b.address for b in ledger.expire(now=60)] == ["2001:db8::5"]
    assert ledger.next_expiry() is None


def test_the_acl_update_holds_exactly_the_blocked_addresses() -> None:
    fields = acl_actions(["198.51.100.7", "2001:db8::5"])
    assert fields["Action-000000"] == "EmptyCat" and fields["Cat-000000"] == BLOCK_ACL
    denies = [v for k, v in fields.items() if k.startswith("Value-") and fields["Var-" + k[6:]] == "deny"]
    assert denies == ["198.51.100.7/32", "2001:db8::5/128"]
    with pytest.raises(ValueError):
        acl_actions(["198.51.100.7\ndeny = 0.0.0.0/0"])  # nothing but an address reaches the file
    assert "Action-000002" not in acl_actions([])


# -- configuration ---------------------------------------------------------------------


def test_trunk_configuration_is_checked(tmp_path: Path) -> None:
    with pytest.raises(ConfigError) as err:
        load(None, state_dir=str(tmp_path), trunks=[{"name": "Bad Name", "host": "x"}])
    assert "trunks.0.name" in str(err.value)
    with pytest.raises(ConfigError, match="registration needs a username"):
        load(None, trunks=[{"name": "t1", "host": "203.0.113.1", "registration": True}])
    with pytest.raises(ConfigError, match="match must list"):
        load(None, trunks=[{"name": "t1", "host": "203.0.113.1"}])
    with pytest.raises(ConfigError, match="host is a name"):
        load(None, trunks=[{"name": "t1", "host": "sip.carrier.example", "registration": True, "username": "u"}])
    with pytest.raises(ConfigError, match="not the hotline number"):
        load(
            None,
            trunks=[{"name": "t1", "host": "203.0.113.1", "match": ["203.0.113.1"], "numbers": {"057112345": "99999"}}],
        )
    with pytest.raises(ConfigError, match="not a digits pattern"):
        load(None, outbound={"allowed": ["_X.&Local/1"]})


def test_the_rendered_pbx_configuration_holds_both_trunks(tmp_path: Path) -> None:
    settings = load(
        None,
        state_dir=str(tmp_path / "state"),
        trunks=[A.model_dump(), B.model_dump() | {"numbers": {"+8612345": "12345"}}],
    )
    ctx = context(settings)
    assert {"203.0.113.20/32", "203.0.113.10/32"} <= set(ctx["acl_permit"])  # both carriers admitted
    written = render_config(settings, tmp_path / "etc")
    pjsip = (tmp_path / "etc" / "pjsip.conf").read_text()
    dialplan = (tmp_path / "etc" / "extensions.conf").read_text()
    assert "[telecom-a-reg]" in pjsip and "client_uri = sip:hotline01@203.0.113.10:5060" in pjsip
    assert "[telecom-b-identify]" in pjsip and "match = 203.0.113.20/32" in pjsip
    assert pjsip.count("allow = alaw") >= 2 and "dtmf_mode = rfc4733" in pjsip and "send_pai = yes" in pjsip
    assert "exten => +8612345,1" in dialplan and "[from-trunk-telecom-a]" in dialplan
    assert dialplan.index("PJSIP/${NUM}@telecom-a") < dialplan.index("PJSIP/${NUM}@telecom-b")
    assert "sim-pstn,${ARG2}" not in dialplan.split("[hotline-pstn-allowed]")[0].split("[hotline-pstn-dial]")[1]
    assert (tmp_path / "etc" / "hotline-tls.key").stat().st_mode & 0o077 == 0
    assert len(written) >= 10


def test_a_trunk_password_asterisk_could_not_hold_is_refused(tmp_path: Path) -> None:
    from hotline.pbx.render import RenderError

    settings = load(None, state_dir=str(tmp_path), trunks=[A.model_dump() | {"password": "a;b"}])
    with pytest.raises(RenderError, match="password"):
        context(settings)


# -- softphone provisioning -------------------------------------------------------------


def test_phone_details_and_linphone_file(tmp_path: Path) -> None:
    settings = load(None, state_dir=str(tmp_path), pbx={"public_address": "pbx.hotline.example"})
    d = phone_details(settings, "seat03")
    assert (d.server, d.port, d.transport, d.user) == ("pbx.hotline.example", 5061, "tls", "seat03")
    assert len(d.fingerprint.split(":")) == 32
    xml = linphone_xml(d)
    assert "&lt;sip:pbx.hotline.example:5061;transport=tls&gt;" in xml and f">{d.password}<" in xml
    assert '<entry name="media_encryption" overwrite="true">srtp</entry>' in xml


def test_a_provisioning_link_works_once_and_expires() -> None:
    now = [0.0]
    links = ProvisioningLinks(clock=lambda: now[0])
    token = links.issue("seat03", "zhangsan")
    assert links.redeem(token) == ("seat03", "zhangsan") and links.redeem(token) is None
    late = links.issue("seat04", "lisi")
    now[0] = 601
    assert links.redeem(late) is None and links.redeem("made-up") is None


def test_a_trunk_with_a_call_limit_counts_its_calls(tmp_path: Path) -> None:
    settings = load(None, state_dir=str(tmp_path / "state"), trunks=[B.model_dump() | {"max_calls": 30}])
    render_config(settings, tmp_path / "etc")
    dialplan = (tmp_path / "etc" / "extensions.conf").read_text()
    assert "GROUP_COUNT(telecom-b@hotline-trunks)} >= 30" in dialplan
    assert "Set(GROUP(hotline-trunks)=telecom-b)" in dialplan


def test_a_seat_whose_agent_left_is_rotated_and_only_its_password_is_written() -> None:
    assert left({"seat01": "a", "seat02": "b", "seat03": ""}, {"seat01": "a", "seat02": "", "seat03": "c"}) == {
        "seat02"
    }
    assert left({"seat01": "a"}, {"seat01": "z"}) == {"seat01"}  # taken over: the previous holder's dies
    assert left({}, {"seat01": "a"}) == set()
    fields = auth_update({"seat02": "Ab-c_9", "seat01": "x"})
    assert fields["SrcFilename"] == fields["DstFilename"] == "pjsip_hotline_seat_auth.conf"
    assert (fields["Cat-000000"], fields["Value-000000"], fields["Cat-000001"]) == ("seat01", "x", "seat02")
    assert fields["Reload"] == "res_pjsip.so" and fields["Var-000001"] == "password"
    for bad in ({"seat01": "a;b"}, {"seat01": "a\nb"}, {"seat[1]": "x"}):
        with pytest.raises(ValueError):
            auth_update(bad)


def test_a_seat_network_crossing_the_line_is_an_alert_never_a_block() -> None:
    ledger = FailureLedger(limit=3, window=60, block_seconds=3600, alert_only=["10.1.0.0/16"])
    verdicts = [ledger.failed("10.1.2.3", "seat05", float(t)) for t in range(3)]
    assert verdicts[:2] == [None, None] and isinstance(verdicts[2], Alert)
    assert verdicts[2].failures == 3 and verdicts[2].accounts == ("seat05",) and not ledger.blocked
    outside = [ledger.failed("203.0.113.9", "seat05", float(t)) for t in range(3)]
    assert isinstance(outside[2], Block) and "203.0.113.9" in ledger.blocked


def test_only_an_answer_in_a_dialog_challenged_at_that_address_counts() -> None:
    sent = Challenges(lifetime=32)
    sent.sent("198.51.100.7", "call-1", "", 100.0)  # Asterisk 22 names no nonce
    assert sent.answered("198.51.100.7", "call-1", "1700000000/abc", 120.0)
    assert not sent.answered("198.51.100.8", "call-1", "1700000000/abc", 120.0)  # challenged elsewhere
    assert not sent.answered("198.51.100.7", "call-2", "1700000000/abc", 120.0)  # a forged dialog
    assert not sent.answered("198.51.100.7", "call-1", "1700000000/abc", 140.0)  # expired
    sent.sent("198.51.100.7", "call-3", "1700000000/abc", 100.0)  # an Asterisk that names it
    assert sent.answered("198.51.100.7", "call-3", "1700000000/abc", 101.0)
    assert not sent.answered("198.51.100.7", "call-3", "1700000000/forged", 101.0)
