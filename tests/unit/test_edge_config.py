"""The SIP edge's configuration: what it renders, what Kamailio accepts, what the nodes get."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest
from pydantic import ValidationError

from hotline.config import ConfigError, Settings
from hotline.configfile import load
from hotline.edge.nodes import parse_dispatcher_list
from hotline.edge.render import allowed_networks, dispatcher_list, libpq_environment, render_edge
from hotline.pbx.render import context
from hotline.seats.phone import linphone_xml, phone_details

NODES = [{"name": "a", "host": "10.0.0.11", "sip_port": 5060}, {"name": "b", "host": "10.0.0.12"}]


def clustered(tmp_path: Path, database: str = "", **edge: object) -> Settings:
    return load(
        None,
        state_dir=str(tmp_path / "state"),
        database={"url": database},
        edge={"enabled": True, "host": "10.0.0.10", "sip_port": 5070, "nodes": NODES, **edge},
        trunks=[{"name": "telecom", "host": "192.0.2.7", "match": ["192.0.2.0/28"]}],
    )


def test_the_dispatcher_list_names_every_node(tmp_path: Path) -> None:
    text = dispatcher_list(clustered(tmp_path))
    assert text.splitlines()[1:] == ["1 sip:10.0.0.11:5060 0 0 duid=a", "1 sip:10.0.0.12:5060 0 0 duid=b"]


def test_the_rendered_configuration_takes_the_numbers_and_networks_and_is_private(tmp_path: Path) -> None:
    settings = clustered(tmp_path)
    written = render_edge(settings, tmp_path / "etc", tmp_path / "run")
    cfg = (tmp_path / "etc" / "kamailio.cfg").read_text()
    assert "listen = udp:10.0.0.10:5070" in cfg
    assert '"^(12345|12319|12369|12333)$"' in cfg
    # Carriers and the nodes may send; the default loopback too.
    assert '"127.0.0.0/8,192.0.2.0/28,192.0.2.7/32,10.0.0.10/32,10.0.0.11/32,10.0.0.12/32"' in cfg
    assert all(p.stat().st_mode & 0o077 == 0 for p in written)


@pytest.mark.skipif(shutil.which("kamailio") is None, reason="kamailio not installed")
def test_kamailio_accepts_the_rendered_configuration(tmp_path: Path) -> None:
    settings = clustered(tmp_path, host="127.0.0.1")
    render_edge(settings, tmp_path / "etc", tmp_path / "run")
    done = subprocess.run(
        ["kamailio", "-c", "-f", str(tmp_path / "etc" / "kamailio.cfg")], capture_output=True, text=True, timeout=30
    )
    assert done.returncode == 0, done.stderr[-2000:]


def test_each_node_gets_the_edge_as_a_trunk_known_by_address(tmp_path: Path) -> None:
    ctx = context(clustered(tmp_path))
    trunks = {t.name: t for t in ctx["trunks"]}  # type: ignore[attr-defined]
    assert list(trunks) == ["telecom", "edge"]
    assert trunks["edge"].host == "10.0.0.10" and trunks["edge"].port == 5070
    assert trunks["edge"].match == ["10.0.0.10/32"]
    assert ctx["trunk_numbers"]["edge"]["12345"] == "12345"  # type: ignore[index]
    assert "10.0.0.10/32" in ctx["acl_permit"]  # type: ignore[operator]


def test_one_node_without_an_edge_has_no_edge_trunk(tmp_path: Path) -> None:
    settings = load(None, state_dir=str(tmp_path / "state"))
    assert [t.name for t in settings.node_trunks] == []


def test_bad_edge_settings_are_refused(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="at least one node"):
        load(None, state_dir=str(tmp_path), edge={"enabled": True})
    with pytest.raises(ConfigError, match="names must be unique"):
        load(None, state_dir=str(tmp_path), edge={"nodes": [NODES[0], NODES[0]]})
    with pytest.raises(ConfigError, match="not an IP address"):
        load(None, state_dir=str(tmp_path), edge={"nodes": [{"name": "a", "host": "node-a.example"}]})
    with pytest.raises(ValidationError, match="edge's own trunk"):
        clustered(tmp_path).model_validate(
            clustered(tmp_path).model_dump()
            | {"trunks": [{"name": "edge", "host": "192.0.2.9", "match": ["192.0.2.9"]}]}
        )


def test_dispatcher_state_is_read_into_typed_nodes() -> None:
    answer = {
        "NRSETS": 1,
        "RECORDS": [
            {
                "SET": {
                    "ID": 1,
                    "TARGETS": [
                        {"DEST": {"URI": "sip:10.0.0.11:5060", "FLAGS": "AP", "ATTRS": {"DUID": "a"}}},
                        {"DEST": {"URI": "sip:10.0.0.12:5060", "FLAGS": "IP", "ATTRS": {"DUID": "b"}}},
                        {"DEST": "garbage"},
                    ],
                }
            },
            {"SET": {"ID": 2, "TARGETS": [{"DEST": {"URI": "sip:x", "FLAGS": "AX"}}]}},
        ],
    }
    nodes = parse_dispatcher_list(answer)
    assert [(n.name, n.up) for n in nodes] == [("a", True), ("b", False)]
    assert parse_dispatcher_list(None) == [] and parse_dispatcher_list({"RECORDS": "x"}) == []


def test_the_systemd_unit_runs_a_command_the_cli_has() -> None:
    from hotline.cli import build_parser

    unit = (Path(__file__).resolve().parents[2] / "deploy" / "systemd" / "hotline-edge.service").read_text()
    exec_start = next(line for line in unit.splitlines() if line.startswith("ExecStart="))
    words = exec_start.split()[1:]
    assert words == ["edge", "run"]
    args = build_parser().parse_args(words)
    assert args.func.__name__ == "cmd_run"
    assert "User=hotline" in unit and "Conflicts=kamailio.service" in unit


def test_an_edge_that_is_off_says_so_instead_of_starting(tmp_path: Path) -> None:
    from hotline.edge.process import Edge, EdgeError

    with pytest.raises(EdgeError, match=r"set \[edge\] enabled = true"):
        Edge(load(None, state_dir=str(tmp_path))).prepared_argv()


PG = "postgresql+asyncpg://hotline@/hotline?host=/srv/hotline/pg&port=5433"


def with_seats(tmp_path: Path, url: str = PG, **edge: object) -> Settings:
    return clustered(tmp_path, database=url, registrar=True, **edge)


@pytest.mark.skipif(shutil.which("kamailio") is None, reason="kamailio not installed")
def test_kamailio_accepts_the_registrar_configuration(tmp_path: Path) -> None:
    settings = with_seats(tmp_path, host="127.0.0.1")
    render_edge(settings, tmp_path / "etc", tmp_path / "run")
    cfg = (tmp_path / "etc" / "kamailio.cfg").read_text()
    assert 'modparam("auth_db", "db_url", "postgres://hotline@/hotline")' in cfg
    assert '$rU =~ "^(seat01|seat02|' in cfg
    done = subprocess.run(
        ["kamailio", "-c", "-f", str(tmp_path / "etc" / "kamailio.cfg")], capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr[-2000:]


def test_the_registrar_needs_postgresql(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="reads seats' passwords from PostgreSQL"):
        with_seats(tmp_path, url="")


@pytest.mark.parametrize(
    ("url", "env"),
    [
        (PG, {"PGHOST": "/srv/hotline/pg", "PGPORT": "5433"}),
        ("postgresql+asyncpg://hotline:s3cret@10.0.0.5:5432/hotline", {"PGHOST": "10.0.0.5", "PGPORT": "5432"}),
        (
            "postgresql+asyncpg://hotline@/hotline?host=10.0.0.20:5432&host=10.0.0.21:5433"
            "&target_session_attrs=read-write",
            {"PGHOST": "10.0.0.20,10.0.0.21", "PGPORT": "5432,5433", "PGTARGETSESSIONATTRS": "read-write"},
        ),
    ],
)
def test_the_edge_finds_the_controllers_database_as_libpq_does(tmp_path: Path, url: str, env: dict[str, str]) -> None:
    got = libpq_environment(with_seats(tmp_path, url=url))
    assert {k: v for k, v in got.items() if k != "PGPASSWORD"} == env
    # A password goes in the environment, never into the rendered file.
    assert got.get("PGPASSWORD") == ("s3cret" if "s3cret" in url else None)


def test_nodes_ring_seats_at_the_edge_and_desks_point_phones_there(tmp_path: Path) -> None:
    settings = with_seats(tmp_path)
    assert context(settings)["seat_edge"] == "10.0.0.10:5070"
    assert context(clustered(tmp_path))["seat_edge"] == ""
    details = phone_details(settings, "seat01", "from-the-database")
    assert (details.server, details.port, details.transport) == ("10.0.0.10", 5070, "udp")
    assert details.password == "from-the-database" and details.realm == "hotline"
    assert "&lt;sip:10.0.0.10:5070;transport=udp&gt;" in linphone_xml(details)
    # Seats' networks may register at the edge; only then.
    assert settings.pbx.sip_networks[0] in allowed_networks(settings)
