"""What a controller asks of the node holding a seat: which node, what crosses the channel (pure)."""

from __future__ import annotations

import json
from types import SimpleNamespace
from typing import Any

from hotline.acd.shared_floor import SharedFloor
from hotline.cluster.notify import envelope, opened


def _acd(hosted: frozenset[str] | None, placed_on: dict[str, str]) -> Any:
    return SimpleNamespace(hosted=hosted, placed_on=placed_on)


def test_a_seat_placed_on_another_node_is_spied_on_there() -> None:
    acd = _acd(frozenset({"seat01"}), {"seat01": "a", "seat02": "b"})
    assert SharedFloor.held_elsewhere(acd, "seat02") == "b"
    assert SharedFloor.held_elsewhere(acd, "seat01") is None  # this node's own queue holds it
    assert SharedFloor.held_elsewhere(acd, "seat03") is None  # placed nowhere yet: nothing to ask


def test_on_one_node_every_spy_runs_here() -> None:
    assert SharedFloor.held_elsewhere(_acd(None, {}), "seat02") is None


def test_a_request_reaches_only_the_node_it_names() -> None:
    said = {"op": "start", "phone": "monitor01", "seat": "seat02", "mode": "listen", "ref": "spy-b-1-1"}
    payload = envelope("b", "a", said)
    assert opened("a", payload) == ("b", said)
    assert opened("b", payload) is None  # its own
    assert opened("c", payload) is None


def test_a_malformed_request_is_ignored() -> None:
    bad = [
        "",
        "[]",
        json.dumps({"from": "b", "to": "a"}),
        json.dumps({"from": 7, "to": "a", "said": {}}),
        json.dumps({"from": "b", "to": "a", "said": ["start"]}),
        json.dumps({"from": "b", "to": "a", "said": {"op": "start", "phone": 1}}),
    ]
    for payload in bad:
        assert opened("a", payload) is None, payload
