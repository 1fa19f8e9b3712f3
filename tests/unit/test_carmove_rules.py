"""Car moving's pure rules: plates, the pool, who a call to X reaches."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest

from hotline.carmove import plates
from hotline.carmove.pool import Active, choose, counterpart, month_start
from hotline.errors import BadRequest

SH = zoneinfo.ZoneInfo("Asia/Shanghai")


def test_plates_are_read_as_typed_and_checked() -> None:
    assert plates.normalize(" 京a·123 45 ") == "京A12345"
    assert plates.normalize("粤B D12345") == "粤BD12345"  # new energy: six after the letter
    assert plates.normalize("沪A1234学") == "沪A1234学"
    for bad in ("A12345", "京12345", "京I12345", "京A1234", "京A1234567", "京A12$45", "ＡＢ", 12345, None):
        with pytest.raises(BadRequest):
            plates.normalize(bad)
    assert plates.spoken("京A10279") == "京，A，幺，洞，两，拐，勾"


def test_a_number_is_never_bound_twice_to_the_same_party() -> None:
    pool = ["X1", "X2", "X3"]
    active = [Active("X1", "r1", "o1"), Active("X2", "r2", "o1")]
    assert choose(pool, active, "r1", "o2") == "X3"  # X1 holds r1; X3 is unused
    assert choose(pool, active, "r3", "o1") == "X3"  # o1 is on X1 and X2 already
    # Least loaded first: X3 is free of r9 and o9 and unused.
    assert choose(pool, active, "r9", "o9") == "X3"
    assert choose(["X1"], active, "r1", "o5") is None  # exhausted for this party
    assert counterpart(active, "X2", "o1") == (active[1], "r2")
    assert counterpart(active, "X2", "r2") == (active[1], "o1")
    assert counterpart(active, "X1", "r2") is None  # a stranger reaches nobody


def test_the_monthly_count_starts_on_the_first_in_the_citys_time() -> None:
    now = dt.datetime(2026, 11, 30, 17, 0, tzinfo=dt.timezone.utc)  # already 1 Dec in Shanghai
    assert month_start(now, SH) == dt.datetime(2026, 12, 1, tzinfo=SH)
