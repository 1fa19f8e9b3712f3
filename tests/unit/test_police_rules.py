"""The 110 link's pure parts: signatures and the messages' exact types."""

from __future__ import annotations

import pytest

from hotline import signing
from hotline.errors import BadRequest
from hotline.police.incident import district_of, parse_incident, parse_result

SECRET = b"s" * 32
GOOD = {
    "intake_no": "J20261127-0001",
    "reported_at": "2026-11-27T08:00:00+08:00",
    "content": "路灯不亮",
    "address": "东城区幸福路",
    "longitude": 116.4,
    "latitude": 39.9,
    "caller": "13800000000",
}


def test_a_signature_checks_the_body_the_secret_and_the_time() -> None:
    body = b'{"a": 1}'
    h = signing.headers(SECRET, body, 1_000_000.0)
    signing.verify(SECRET, h[signing.TIMESTAMP], h[signing.SIGNATURE], body, 1_000_100.0, 300)
    with pytest.raises(signing.BadSignature):
        signing.verify(SECRET, h[signing.TIMESTAMP], h[signing.SIGNATURE], b'{"a": 2}', 1_000_000.0, 300)
    with pytest.raises(signing.BadSignature):
        signing.verify(b"other", h[signing.TIMESTAMP], h[signing.SIGNATURE], body, 1_000_000.0, 300)
    with pytest.raises(signing.BadSignature):  # replayed later than the skew allows
        signing.verify(SECRET, h[signing.TIMESTAMP], h[signing.SIGNATURE], body, 1_000_301.0, 300)
    for ts in (None, "", "１２", "-5", "1e9"):
        with pytest.raises(signing.BadSignature):
            signing.verify(SECRET, ts, h[signing.SIGNATURE], body, 1_000_000.0, 300)
    with pytest.raises(signing.BadSignature):  # no secret configured: nothing is trusted
        signing.verify(b"", h[signing.TIMESTAMP], h[signing.SIGNATURE], body, 1_000_000.0, 300)


def test_an_incident_is_read_with_exact_types() -> None:
    inc = parse_incident(GOOD)
    assert (inc.intake_no, inc.longitude, inc.caller) == ("J20261127-0001", 116.4, "13800000000")
    assert parse_incident({**GOOD, "longitude": None, "latitude": 40}).latitude == 40.0
    for field, value in [
        ("longitude", True),
        ("longitude", "116"),
        ("longitude", 181),
        ("latitude", float("nan")),
        ("intake_no", "J1"),
        ("intake_no", "J/../1"),
        ("caller", "13８"),
        ("caller", 138),
        ("content", "   "),
        ("content", "x" * 4001),
        ("reported_at", "2026-11-27T08:00:00"),
        ("reported_at", 1764201600),
        ("recording_url", "ftp://x/y"),
        ("address", ["a"]),
        # Before: a 500 (the UTC instant overflows the calendar), and year 1.
        ("reported_at", "9999-12-31T23:59:59-23:59"),
        ("reported_at", "0001-01-01T00:00:00+23:59"),
    ]:
        with pytest.raises(BadRequest) as err:
            parse_incident({**GOOD, field: value})
        assert err.value.details["field"] == field, (field, value)


def test_a_result_needs_its_stage_and_a_dispatch_result_its_text() -> None:
    base = {"ticket": "20261127000001", "intake_no": "J0001", "stage": "received", "at": "2026-11-27T08:00:00Z"}
    assert parse_result(base).stage == "received"
    for field, value in [("stage", "closed"), ("ticket", "2026"), ("ticket", 20261127000001)]:
        with pytest.raises(BadRequest):
            parse_result({**base, field: value})
    with pytest.raises(BadRequest) as err:
        parse_result({**base, "stage": "dispatched"})
    assert err.value.details["field"] == "result"


def test_the_district_comes_from_the_address() -> None:
    assert district_of("西城区和平街 3 号", ["东城区", "西城区"]) == "西城区"
    assert district_of("和平街 3 号", ["东城区", "西城区"]) == ""
