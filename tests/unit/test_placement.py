"""Where seats take queue calls in a cluster (pure rules)."""

from __future__ import annotations

from dataclasses import replace

from hotline.cluster.placement import Move, NodeLoad, Placed, fallen, fallen_text, hosts, order_first, plan, plan_floor
from hotline.cluster.presence import dump_load, parse_load
from hotline.cluster.steer import picks

SETTLE = 5.0
NOW = 1000.0


def load(
    node: str, *, up: bool = True, waiting: int = 0, members: str = "", busy: str = "", free: str = ""
) -> NodeLoad:
    return NodeLoad(
        node,
        up,
        tuple(900.0 + i for i in range(waiting)),
        frozenset(members.split()),
        frozenset(busy.split()),
        frozenset(free.split()),
    )


def placed(**where: str) -> dict[str, Placed]:
    return {seat: Placed(node, 0.0) for seat, node in where.items()}


def test_new_seats_are_spread_over_the_live_nodes() -> None:
    chosen = plan(["s1", "s2", "s3"], {}, {"a": load("a"), "b": load("b")}, NOW, SETTLE)
    assert chosen.moves == (Move("s1", "a", "new"), Move("s2", "b", "new"), Move("s3", "a", "new"))


def test_a_new_seat_goes_where_callers_wait_when_nodes_are_even() -> None:
    chosen = plan(["s1"], {}, {"a": load("a"), "b": load("b", waiting=2)}, NOW, SETTLE)
    assert chosen.moves == (Move("s1", "b", "new"),)


def test_seats_of_a_node_that_is_down_move_to_the_living() -> None:
    loads = {"a": load("a", up=False, members="s1"), "b": load("b", members="s2")}
    chosen = plan(["s1", "s2"], placed(s1="a", s2="b"), loads, NOW, SETTLE)
    assert chosen.moves == (Move("s1", "b", "node-down"),)


def test_a_free_seat_moves_to_a_node_where_a_caller_waits() -> None:
    loads = {"a": load("a", waiting=1, members="s1", busy="s1"), "b": load("b", members="s2", free="s2")}
    chosen = plan(["s1", "s2"], placed(s1="a", s2="b"), loads, NOW, SETTLE)
    assert chosen.moves == (Move("s2", "a", "waiting"),)


def test_no_seat_leaves_a_node_where_callers_wait_too() -> None:
    loads = {"a": load("a", waiting=1, busy="s1", members="s1"), "b": load("b", waiting=1, members="s2", free="s2")}
    assert plan(["s1", "s2"], placed(s1="a", s2="b"), loads, NOW, SETTLE).moves == ()


def test_only_as_many_seats_move_as_callers_wait_and_none_is_already_coming() -> None:
    loads = {"a": load("a", waiting=2, members="s1", busy="s1"), "b": load("b", members="s2 s3 s4", free="s2 s3 s4")}
    chosen = plan(["s1", "s2", "s3", "s4"], placed(s1="a", s2="b", s3="b", s4="b"), loads, NOW, SETTLE)
    assert chosen.moves == (Move("s2", "a", "waiting"), Move("s3", "a", "waiting"))
    # Next look: s2 is placed on a but not yet a member there; one more caller needs one more seat only.
    after = {**placed(s1="a", s3="a", s4="b"), "s2": Placed("a", NOW - 1, "waiting")}
    loads["a"] = load("a", waiting=2, members="s1 s3", busy="s1", free="s3")
    assert plan(["s1", "s2", "s3", "s4"], after, loads, NOW, SETTLE).moves == ()


def test_a_seat_just_moved_to_serve_callers_stays_put() -> None:
    loads = {"a": load("a", waiting=1, members="s1", busy="s1"), "b": load("b", members="s2", free="s2")}
    fresh = {"s1": Placed("a", 0.0), "s2": Placed("b", NOW - 1.0, "waiting")}
    assert plan(["s1", "s2"], fresh, loads, NOW, SETTLE).moves == ()
    # One just placed at login moves at once.
    fresh["s2"] = Placed("b", NOW - 1.0, "new")
    assert plan(["s1", "s2"], fresh, loads, NOW, SETTLE).moves == (Move("s2", "a", "waiting"),)


def test_placements_of_seats_nobody_sits_at_are_forgotten() -> None:
    chosen = plan(["s1"], placed(s1="a", s9="b"), {"a": load("a"), "b": load("b")}, NOW, SETTLE)
    assert chosen.forget == ("s9",) and chosen.moves == ()


def test_nothing_is_placed_while_no_node_is_up() -> None:
    assert plan(["s1"], {}, {"a": load("a", up=False)}, NOW, SETTLE).moves == ()


def test_a_seat_joins_its_new_node_only_once_the_old_one_let_it_go() -> None:
    where = placed(s1="a")
    still = {"a": load("a"), "b": load("b", members="s1")}
    assert not hosts("a", "s1", where, still)
    assert not hosts("b", "s1", where, still)
    talking = {"a": load("a"), "b": load("b", busy="s1")}
    assert not hosts("a", "s1", where, talking)
    gone = {"a": load("a"), "b": load("b")}
    assert hosts("a", "s1", where, gone)
    # A node that is down holds nobody back.
    assert hosts("a", "s1", where, {"a": load("a"), "b": load("b", up=False, members="s1")})


def test_a_node_that_falls_is_reported_with_what_it_held() -> None:
    before = {"b": load("b", members="s3")}
    before["a"] = NodeLoad(
        "a", True, (1.0, 2.0), frozenset({"s1", "s2"}), frozenset({"s1", "s2"}), talking=frozenset({"s1"}), in_ivr=3
    )
    now = {"a": load("a", up=False), "b": load("b", members="s3")}
    (gone,) = fallen(before, now)
    assert fallen_text(gone) == "节点 a 故障：通话中 1 通、语音导航中 3 位、排队中 2 位来电随之中断"
    # Reported once: the next look finds it already down.
    assert fallen(now, now) == []


def test_a_seat_in_wrap_up_goes_to_the_node_whose_callers_came_first() -> None:
    # a's caller joined at 900, b's at 950: b's seat in wrap-up serves a's caller next.
    a = NodeLoad("a", True, (900.0,), frozenset({"s1"}), frozenset({"s1"}), talking=frozenset({"s1"}))
    b = NodeLoad("b", True, (950.0,), frozenset({"s2", "s3"}), frozenset({"s2", "s3"}), talking=frozenset({"s3"}))
    chosen = plan(["s1", "s2", "s3"], placed(s1="a", s2="b", s3="b"), {"a": a, "b": b}, NOW, SETTLE)
    assert chosen.moves == (Move("s2", "a", "order"),)
    # Callers that came within `settle` of each other: each node serves its own.
    b = NodeLoad("b", True, (903.0,), b.members, b.busy, talking=b.talking)
    assert plan(["s1", "s2", "s3"], placed(s1="a", s2="b", s3="b"), {"a": a, "b": b}, NOW, SETTLE).moves == ()


def test_with_no_wrap_up_a_seat_freed_on_the_later_node_waits_for_the_leader() -> None:
    """b's seat s2 just ended its call; a's caller came at 900, b's at 950."""
    a = NodeLoad("a", True, (900.0,), frozenset({"s1"}), frozenset({"s1"}), talking=frozenset({"s1"}))
    b = NodeLoad("b", True, (950.0,), frozenset({"s2"}), frozenset({"s2"}), talking=frozenset({"s2"}))
    loads = {"a": a, "b": b}
    where = placed(s1="a", s2="b")
    assert order_first("b", "s2", where, loads, (950.0,), NOW, SETTLE)
    # Held, it shows as in wrap-up, and the leader draws it to a.
    held = replace(b, talking=frozenset())
    assert plan(["s1", "s2"], where, {"a": a, "b": held}, NOW, SETTLE).moves == (Move("s2", "a", "order"),)
    # Not held: b's callers came within `settle` of a's; nobody waits on b;
    # a's node is down; the seat is not b's; a's caller is the later one.
    assert not order_first("b", "s2", where, loads, (903.0,), NOW, SETTLE)
    assert not order_first("b", "s2", where, loads, (), NOW, SETTLE)
    assert not order_first("b", "s2", where, {"a": replace(a, up=False), "b": b}, (950.0,), NOW, SETTLE)
    assert not order_first("b", "s2", placed(s1="a", s2="a"), loads, (950.0,), NOW, SETTLE)
    assert not order_first("a", "s1", where, loads, (900.0,), NOW, SETTLE)
    # Its phone registered at b: no other node can ring it.
    assert not order_first(
        "b", "s2", where, {"a": a, "b": replace(b, webphones=frozenset({"s2"}))}, (950.0,), NOW, SETTLE
    )
    # Moved to b moments ago to serve callers: it stays, so two busy nodes do not pass it to and fro.
    just = {"s1": Placed("a", 0.0), "s2": Placed("b", NOW - 1.0, "order")}
    assert not order_first("b", "s2", just, loads, (950.0,), NOW, SETTLE)
    # A lawyer looks at the lawyer queues.
    assert not order_first("b", "s2", where, loads, (950.0,), NOW, SETTLE, lawyer=True)
    lawyer_loads = {"a": replace(a, lawyer_waiting=(900.0,)), "b": b}
    assert order_first("b", "s2", where, lawyer_loads, (950.0,), NOW, SETTLE, lawyer=True)


def lawyers(node_load: NodeLoad, *, waiting: int = 0, members: str = "", free: str = "") -> NodeLoad:
    return replace(
        node_load,
        lawyer_waiting=tuple(800.0 + i for i in range(waiting)),
        lawyer_members=frozenset(members.split()),
        lawyer_free=frozenset(free.split()),
    )


def test_a_caller_waiting_for_a_lawyer_draws_a_free_lawyer_never_a_general_seat() -> None:
    # Node b: a caller waits in its lawyer queue. Node a: a free lawyer (l1)
    # in its lawyer queue and a free general seat (s1) in its hotline queue.
    loads = {
        "a": lawyers(load("a", members="s1", free="s1"), members="l1", free="l1"),
        "b": lawyers(load("b"), waiting=1),
    }
    chosen = plan_floor(["s1"], ["l1"], placed(s1="a", l1="a"), loads, NOW, SETTLE)
    assert chosen.moves == (Move("l1", "b", "waiting"),)
    # A general caller waiting on b draws the general seat, not the lawyer.
    loads["b"] = load("b", waiting=1)
    chosen = plan_floor(["s1"], ["l1"], placed(s1="a", l1="a"), loads, NOW, SETTLE)
    assert chosen.moves == (Move("s1", "b", "waiting"),)


def test_lawyers_are_spread_by_their_own_count_and_forgotten_with_the_rest() -> None:
    loads = {"a": load("a"), "b": load("b")}
    chosen = plan_floor(["s1", "s2"], ["l1", "l2"], placed(s1="a", s2="b", gone="a"), loads, NOW, SETTLE)
    assert chosen.moves == (Move("l1", "a", "new"), Move("l2", "b", "new"))
    assert chosen.forget == ("gone",)


def test_a_lawyer_joins_a_new_node_once_the_old_nodes_lawyer_queue_let_it_go() -> None:
    where = placed(l1="b")
    still = {"a": lawyers(load("a"), members="l1"), "b": load("b")}
    assert not hosts("b", "l1", where, still, lawyer=True)
    assert hosts("b", "l1", where, {"a": load("a", members="l1"), "b": load("b")}, lawyer=True)


def test_a_published_load_reads_back_whole_and_a_bad_one_as_an_empty_queue() -> None:
    sent = NodeLoad(
        "a",
        True,
        (900.0, 901.5),
        frozenset({"s1", "s2"}),
        frozenset({"s2"}),
        frozenset({"s1"}),
        frozenset(),
        frozenset({"s2"}),
        in_ivr=3,
        lawyer_waiting=(950.0,),
        lawyer_members=frozenset({"l1"}),
        lawyer_free=frozenset({"l1"}),
        webphones=frozenset({"s2"}),
        plan={"epoch": 2},
    )
    got = parse_load("a", True, dump_load(sent))
    assert got == sent and got.plan == {"epoch": 2}
    assert parse_load("b", True, '{"waiting": ["soon"]}') == NodeLoad("b", True)
    assert parse_load("b", False, "not json") == NodeLoad("b", False)


def test_a_seat_on_the_desks_browser_phone_stays_where_that_phone_is_registered() -> None:
    # s1's browser phone registered through node b's controller: only b can ring it.
    loads = {"a": load("a", waiting=2), "b": replace(load("b", members="s1", free="s1"), webphones=frozenset({"s1"}))}
    assert plan(["s1"], placed(s1="b"), loads, NOW, SETTLE).moves == ()  # not drawn to a's callers
    # Placed elsewhere (new, or before the phone came up): it goes to b.
    assert plan(["s1"], placed(s1="a"), loads, NOW, SETTLE).moves == (Move("s1", "b", "phone"),)
    assert plan(["s1"], {}, loads, NOW, SETTLE).moves == (Move("s1", "b", "phone"),)
    # Its node down: it may go elsewhere again (the phone registers anew where it can).
    loads["b"] = replace(loads["b"], up=False)
    assert plan(["s1"], placed(s1="b"), loads, NOW, SETTLE).moves == (Move("s1", "a", "node-down"),)


def test_new_calls_are_steered_one_per_seat_free_and_unclaimed() -> None:
    a = NodeLoad("a", True, (), frozenset({"s1", "s2", "s3"}), free=frozenset({"s1", "s2", "s3"}))
    b = NodeLoad("b", True, (), frozenset({"s4"}), free=frozenset({"s4"}))
    # The node with the most free seats first, then in turn.
    assert picks({"a": a, "b": b}) == ["a", "b", "a", "a"]
    # A caller waiting or in the IVR already claims a free seat there.
    assert picks({"a": replace(a, waiting=(900.0,), in_ivr=1), "b": b}) == ["a", "b"]
    # A node that is down, or with no seat free: none; none anywhere: round robin (empty).
    assert picks({"a": replace(a, up=False), "b": b}) == ["b"]
    assert picks({"a": replace(a, free=frozenset()), "b": replace(b, free=frozenset())}) == []
    # At most `most` rows: a burst larger than that waits for the next heartbeat's.
    many = NodeLoad("a", True, (), free=frozenset(f"s{i}" for i in range(50)))
    assert len(picks({"a": many}, most=20)) == 20
