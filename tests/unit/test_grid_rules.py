"""Grid stations' pure rules: who owns an address, who may do what."""

from __future__ import annotations

import pytest

from hotline.config import Community, Street, TicketSettings
from hotline.roles import Role
from hotline.tickets import workflow as wf
from hotline.tickets.units import Units

SETTINGS = TicketSettings(
    streets=[
        Street(
            code="s1",
            name="新华街道",
            district="西城区",
            communities=[
                Community(code="c1", name="和平街社区", addresses=["和平路"]),
                Community(code="c2", name="和平东社区", addresses=["和平东路"]),
            ],
        ),
        Street(
            code="s2",
            name="建国街道",
            district="东城区",
            communities=[Community(code="c3", name="东和平社区", addresses=["和平路"])],
        ),
    ]
)


def test_the_longest_matching_address_within_the_district_owns_it() -> None:
    units = Units(SETTINGS)
    assert units.locate("西城区和平东路 5 号", "西城区").code == "c2"  # type: ignore[union-attr]
    assert units.locate("和平路 8 号", "西城区").code == "c1"  # type: ignore[union-attr]
    assert units.locate("和平路 8 号", "东城区").code == "c3"  # type: ignore[union-attr]
    assert units.locate("长安街 1 号", "西城区") is None
    assert units.by_code["c1"].path == "西城区 / 新华街道 / 和平街社区"
    assert [d.name for d in units.stations()][:1] == ["和平街社区网格站"]


def test_station_codes_must_not_clash_and_districts_must_exist() -> None:
    with pytest.raises(ValueError):
        TicketSettings(
            streets=[Street(code="s", name="x", district="西城区", communities=[Community(code="zjw", name="y")])]
        )
    with pytest.raises(ValueError):
        TicketSettings(streets=[Street(code="s", name="x", district="火星区")])


def test_units_sign_note_hand_over_and_feed_back_only_while_dispatched() -> None:
    grid = frozenset({Role.GRID})
    for action in ("receive", "note", "handover"):
        assert wf.transition("dispatched", action, grid) == wf.Status.DISPATCHED
        with pytest.raises(wf.TransitionRefused):
            wf.transition("feedback", action, grid)
        with pytest.raises(wf.RoleRefused):
            wf.transition("dispatched", action, frozenset({Role.AGENT}))
    assert wf.transition("dispatched", "feedback", grid) == wf.Status.FEEDBACK
