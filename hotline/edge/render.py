"""Render kamailio-conf/ into the edge's configuration folder."""

from __future__ import annotations

import os
from pathlib import Path

import jinja2
from sqlalchemy.engine import make_url

from hotline.config import Settings
from hotline.errors import HotlineError

SHIPPED_TEMPLATES = Path(__file__).resolve().parent.parent.parent / "kamailio-conf"


class EdgeRenderError(HotlineError):
    error_id = "edge-render-failed"


def edge_numbers(settings: Settings) -> list[str]:
    """The numbers the edge hands to the nodes: the hotline's, the legacy
    ones and the car-moving pool (as the nodes' edge trunk takes them)."""
    return list(dict.fromkeys((settings.hotline_number, *settings.legacy_numbers, *settings.carmove.pool)))


def allowed_networks(settings: Settings) -> list[str]:
    """Carriers, nodes, and with seats registered here the seats' networks."""
    nodes = [f"{n.host}/32" for n in settings.edge.nodes]
    seats = settings.pbx.sip_networks if settings.seats_at_edge else []
    return list(dict.fromkeys(settings.edge.sip_networks + settings.carrier_networks + nodes + seats))


def trusted_networks(settings: Settings) -> list[str]:
    """Nodes and carriers: never counted as a flood (a carrier at its peak is not an attack)."""
    nodes = [f"{n.host}/32" for n in settings.edge.nodes]
    return list(dict.fromkeys(settings.carrier_networks + nodes))


def dispatcher_list(settings: Settings) -> str:
    """Kamailio's dispatcher.list: set 1 holds every node, duid its name."""
    lines = ["# set destination flags priority attributes"]
    lines += [f"1 sip:{n.host}:{n.sip_port} 0 0 duid={n.name}" for n in settings.edge.nodes]
    return "\n".join(lines) + "\n"


def reads_database(settings: Settings) -> bool:
    """The edge reads the controllers' PostgreSQL database: seats' passwords
    (with seats at the edge) and where the leader steers new calls."""
    return settings.database_url.startswith("postgresql")


def database_names(settings: Settings) -> dict[str, str]:
    """The user and database Kamailio's db_url names (the rest is libpq's environment)."""
    if not reads_database(settings):
        return {"db_user": "", "db_name": ""}
    url = make_url(settings.database_url)
    return {"db_user": url.username or "", "db_name": url.database or ""}


def libpq_environment(settings: Settings) -> dict[str, str]:
    """Where Kamailio's PostgreSQL module connects, as libpq's variables:
    the controllers' own database, by Unix socket folder or host, and with
    several hosts plus target_session_attrs a promoted standby is found again."""
    if not reads_database(settings):
        return {}
    url = make_url(settings.database_url)
    query = {k: (v,) if isinstance(v, str) else tuple(v) for k, v in url.query.items()}
    hosts: list[str] = []
    ports: list[str] = []
    for entry in query.get("host", ()) or ((url.host,) if url.host else ()):
        # asyncpg's host=h:p; a Unix socket folder never has a colon.
        host, _, port = entry.rpartition(":") if not entry.startswith("/") and ":" in entry else (entry, "", "")
        hosts.append(host)
        ports.append(port)
    env = {}
    if hosts:
        env["PGHOST"] = ",".join(hosts)
    default = query["port"][0] if "port" in query else str(url.port or "")
    if any(ports) or default:
        env["PGPORT"] = ",".join(p or default or "5432" for p in ports) if hosts else default
    if url.password:
        env["PGPASSWORD"] = url.password
    if "target_session_attrs" in query:
        env["PGTARGETSESSIONATTRS"] = query["target_session_attrs"][0]
    return env


def render_edge(settings: Settings, etc: Path, run: Path, installed_at: Path | None = None) -> list[Path]:
    """Write kamailio.cfg and dispatcher.list into etc; returns them.

    installed_at: where Kamailio will read them, when not from etc itself."""
    env = jinja2.Environment(
        loader=jinja2.FileSystemLoader(str(SHIPPED_TEMPLATES)),
        undefined=jinja2.StrictUndefined,
        keep_trailing_newline=True,
        autoescape=False,
    )
    etc.mkdir(parents=True, exist_ok=True)
    os.chmod(etc, 0o700)
    ctx = {
        "edge": settings.edge,
        "numbers": "|".join(edge_numbers(settings)),
        "allowed": ",".join(allowed_networks(settings)),
        "trusted": ",".join(trusted_networks(settings)),
        "rpc_socket": str(run / "rpc.sock"),
        "dispatcher_list": str((installed_at or etc) / "dispatcher.list"),
        "nodes": ",".join(f"{n.host}/32" for n in settings.edge.nodes),
        "seats": "|".join(settings.seats.names()),
        # Phones registered here: the seats' and the leads' monitoring phones.
        "phones": "|".join(settings.seats.names() + settings.seats.monitor_names()),
        # is_in_subnet needs at least one network: the edge's own address then.
        "alert_only": ",".join(settings.sip_alert_only_networks or [f"{settings.edge.host}/32"]),
        **database_names(settings),
    }
    try:
        texts = {
            "kamailio.cfg": env.get_template("kamailio.cfg").render(**ctx),
            "dispatcher.list": dispatcher_list(settings),
        }
    except jinja2.TemplateError as exc:
        raise EdgeRenderError(f"kamailio.cfg: {exc}") from exc
    written = []
    for name, text in texts.items():
        out = etc / name
        tmp = out.with_name(name + ".tmp")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, out)
        written.append(out)
    return written
