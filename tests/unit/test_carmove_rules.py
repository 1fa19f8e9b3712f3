"""Car moving's refusal rules, without a PBX or a database."""

from __future__ import annotations

from dataclasses import replace

from hotline.carmove.errors import Blacklisted, CarmoveRefused, LimitReached, Unregistered
from hotline.carmove.rules import Asked, refusal

OK = Asked(
    requester="13900000001",
    plate="京A12345",
    blacklisted=False,
    used_this_month=4,
    monthly_limit=5,
    owner="13700000001",
)


def test_a_registered_plate_and_a_requester_within_the_limit_go_ahead() -> None:
    assert refusal(OK) is None


def test_the_blacklist_refuses_first_and_is_logged_masked() -> None:
    r = refusal(replace(OK, blacklisted=True, used_this_month=9, owner=None))
    assert r is not None and isinstance(r.error, Blacklisted)
    assert r.log == "黑名单号码 139****0001" and "13900000001" not in r.log


def test_the_monthly_limit_counts_every_use_and_names_the_count() -> None:
    r = refusal(replace(OK, used_this_month=5))
    assert r is not None and isinstance(r.error, LimitReached) and r.error.details["used"] == 5
    assert r.log == "139****0001 本月已用 5 次"


def test_an_unregistered_plate_is_named_and_not_logged() -> None:
    r = refusal(replace(OK, owner=None))
    assert r is not None and isinstance(r.error, Unregistered) and "京A12345" in str(r.error) and r.log == ""


def test_the_owner_cannot_ask_to_move_their_own_car() -> None:
    r = refusal(replace(OK, owner=OK.requester))
    assert r is not None and type(r.error) is CarmoveRefused
