"""The configuration's schema: every key, its default and its checks (read by
hotline/configfile.py).

One TOML configuration file, overridable by environment variables.

Precedence, highest first: environment (``HOTLINE_<SECTION>__<KEY>``), the
TOML file (``--config``, ``$HOTLINE_CONFIG`` or ``./hotline.toml``), the
defaults below, and for secrets the file written by ``hotline pbx install``.
Relative paths are resolved against the configuration file's folder.
"""

from __future__ import annotations

import ipaddress
import re
from pathlib import Path
from typing import Annotated, Any, ClassVar, Literal

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, StringConstraints, field_validator, model_validator
from pydantic_settings import BaseSettings, PydanticBaseSettingsSource, SettingsConfigDict

from hotline.ami.used import USED_EVENTS
from hotline.errors import HotlineError

DEFAULT_CONFIG_NAME = "hotline.toml"
# Channels other than the phone whose gateways create tickets over HTTP, each
# with a bearer token of its own (so a leaked SMS token cannot pose as WeChat).
GATEWAY_CHANNELS = ("web", "wechat", "sms", "app")
# Peers that exchange signed requests with the hotline (HMAC, a secret each,
# generated at install): the police's 110 centre.
PEERS = ("110",)
SECRETS_NAME = "secrets.toml"
MASK = "********"


class ConfigError(HotlineError):
    error_id = "config-invalid"

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("invalid configuration:\n" + "\n".join(f"  {p}" for p in problems))


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True)


def _loopback_default() -> str:
    return "127.0.0.1"


def _is_loopback(host: str) -> bool:
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return host == "localhost"


class AmiSettings(_Section):
    host: str = Field(default_factory=_loopback_default, description="AMI host")
    port: int = Field(5038, ge=1, le=65535)
    username: str = Field("hotline", pattern=r"^[A-Za-z0-9_-]{1,64}$")
    secret: str = Field("", description="generated at install; empty means 'read the secrets file'")
    connect_timeout: float = Field(5.0, gt=0, le=60)
    action_timeout: float = Field(10.0, gt=0, le=600)
    ping_interval: float = Field(5.0, gt=0, le=300)
    ping_timeout: float = Field(3.0, gt=0, le=60)
    backoff_initial: float = Field(0.2, gt=0, le=10)
    # Short: after a PBX restart the controller is back within a second of Asterisk.
    backoff_max: float = Field(1.0, gt=0, le=60)
    max_message_bytes: int = Field(4 * 1024 * 1024, ge=64 * 1024)
    # Only the events the controller uses reach it (AMI Filter whitelist):
    # a call makes dozens of others (dial, bridge, local-channel, RTCP, ...),
    # and parsing them was most of the controller's CPU per call. Replies to
    # actions (QueueStatus lists and the like) are never filtered.
    event_filters: list[Annotated[str, StringConstraints(pattern=r"^[A-Za-z]{1,64}$")]] = Field(
        default_factory=lambda: list(USED_EVENTS), description="event names (hotline/ami/used.py)"
    )

    @model_validator(mode="after")
    def _backoff_order(self) -> AmiSettings:
        if self.backoff_max < self.backoff_initial:
            raise ValueError("backoff_max must not be smaller than backoff_initial")
        return self


class AgiSettings(_Section):
    host: str = Field(default_factory=_loopback_default)
    port: int = Field(4573, ge=1, le=65535)
    # A caller must never wait on a stuck controller longer than this.
    command_timeout: float = Field(30.0, gt=0, le=3600)
    max_header_lines: int = Field(256, ge=16, le=4096)
    header_timeout: float = Field(3.0, gt=0, le=60)
    key: str = Field("", description="generated at install; empty means 'read the secrets file'")
    max_sessions: int = Field(2000, ge=1, le=100_000)


class WebSettings(_Section):
    host: str = Field(default_factory=_loopback_default)
    port: int = Field(8080, ge=1, le=65535)
    # HTTPS with the hotline's certificate (pbx.tls_cert/key, or the one made
    # at install): "auto" serves it whenever host is not loopback, since a
    # browser grants the desk's microphone only to a secure page.
    tls: Literal["auto", "on", "off"] = "auto"

    @property
    def https(self) -> bool:
        return self.tls == "on" or (self.tls == "auto" and not _is_loopback(self.host))

    # A session ends after this long without a request (and 12 h after login).
    session_idle_minutes: int = Field(30, ge=1, le=720)
    # Where each request is logged: a private file in the state folder (the
    # terminal keeps what the operator must read), the service's stderr
    # (journald under systemd), or nowhere.
    access_log: Literal["file", "stderr", "off"] = "file"
    # Origins besides the server's own that may open its websockets and post
    # to its API (e.g. "https://hotline.example.gov.cn" behind a proxy).
    allowed_origins: list[str] = Field(default_factory=list)
    max_websockets_per_session: int = Field(4, ge=1, le=64)
    # Counted over all of a person's logins: five logins no longer make twenty sockets.
    max_websockets_per_user: int = Field(6, ge=1, le=256)
    # Reverse proxies whose X-Forwarded-For names the client: throttles key on
    # the address it gives. From anyone else the header is ignored (it is
    # whatever the sender wants it to be).
    trusted_proxies: list[str] = Field(default_factory=list)
    # Requests without a login (public page, login, gateways' peers) per
    # address and minute, counted before their body is even read.
    anonymous_per_minute: int = Field(120, ge=1, le=100_000)

    @field_validator("trusted_proxies")
    @classmethod
    def _proxies(cls, value: list[str]) -> list[str]:
        return [_network(n) for n in value]


class PbxSettings(_Section):
    rootfs: Path = Field(Path("var/pbx-rootfs"), description="cached Asterisk root filesystem")
    instance_dir: Path = Field(Path("var/pbx"), description="rendered config, logs, spool, control socket")
    templates: Path | None = Field(None, description="asterisk-conf/ folder; default: the one shipped")
    suite: str = Field("sid", pattern=r"^[a-z]+$")
    mirror: str = Field("", description="Debian mirror URL for mmdebstrap; empty: its default")
    packages: list[str] = Field(default_factory=lambda: ["asterisk", "asterisk-core-sounds-en-gsm"])
    # Seats' phones reach the PBX here (UDP and TCP on sip_port, TLS on
    # sip_tls_port). Loopback by default: exposing SIP is a decision.
    sip_host: str = Field(default_factory=_loopback_default)
    sip_port: int = Field(5060, ge=1, le=65535)
    sip_tls_port: int = Field(5061, ge=1, le=65535)
    # Asterisk's HTTP server, on loopback only: browser phones' SIP over
    # websocket, relayed by the controller's /ws/sip.
    http_port: int = Field(8088, ge=1, le=65535)
    # The address phones and carriers must use, when the PBX sits behind NAT
    # or sip_host is 0.0.0.0; empty: sip_host.
    public_address: str = Field("", pattern=r"^[A-Za-z0-9.:-]{0,253}$")
    # The operator's own certificate and key (PEM); empty: a self-signed pair
    # made at install in the state folder.
    tls_cert: Path | None = None
    tls_key: Path | None = None
    # Networks seat phones may reach the PBX from (SIP ACL); carriers' own
    # addresses (trunks[].match) are added. Everything else gets 403.
    sip_networks: list[str] = Field(default_factory=lambda: ["127.0.0.0/8", "::1/128"])
    # Offer SRTP (SDES, keys inside TLS signalling) to seat phones; a phone
    # that cannot do it still gets plain RTP.
    srtp: bool = True
    rtp_start: int = Field(10000, ge=1024, le=65535)
    rtp_end: int = Field(10999, ge=1024, le=65535)
    boot_timeout: float = Field(60.0, gt=0, le=600)
    # The supervisor restarts a crashed Asterisk after this, doubling per
    # crash in a row up to restart_max; a run longer than restart_stable
    # seconds counts as healthy and resets the backoff.
    restart_initial: float = Field(0.5, gt=0, le=60)
    restart_max: float = Field(30.0, gt=0, le=3600)
    restart_stable: float = Field(60.0, gt=0, le=86400)
    # AGIExecStart/AGIExecEnd (two per AGI command) and VarSet: nothing in
    # the controller reads them, so Asterisk is told never to make them
    # (stasis.conf); true for another AMI client that wants them, or to watch
    # what the IVR plays. Made, each AGI command cost Asterisk 0.10 ms of CPU
    # against 0.04 ms declined (measured on a 2-core machine).
    unread_events: bool = False

    @model_validator(mode="after")
    def _rtp_order(self) -> PbxSettings:
        if self.rtp_end <= self.rtp_start:
            raise ValueError("rtp_end must be greater than rtp_start")
        if self.sip_tls_port == self.sip_port:
            raise ValueError("sip_tls_port must differ from sip_port")
        if (self.tls_cert is None) != (self.tls_key is None):
            raise ValueError("tls_cert and tls_key go together")
        return self

    @field_validator("sip_networks")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        return [_network(n) for n in value]

    @property
    def address(self) -> str:
        """Where a phone sends its SIP: the public address, else the bound one."""
        return self.public_address or self.sip_host


def _network(text: str) -> str:
    """An address or network as Asterisk's ACLs take it (strict: no host bits)."""
    import ipaddress

    try:
        return str(ipaddress.ip_network(text, strict=False))
    except ValueError:
        raise ValueError(f"{text!r} is not an IP address or network") from None


def _is_ip(text: str) -> bool:
    import ipaddress

    try:
        ipaddress.ip_address(text)
        return True
    except ValueError:
        return False


_TRUNK_NAME = re.compile(r"^[a-z][a-z0-9-]{0,30}$")
# What may reach a trunk as a destination: Asterisk extension patterns of
# digits, X/Z/N and ranges, no wildcards that match letters.
_PATTERN = re.compile(r"^(_[0-9XZN\[\]\-]{1,30}\.?|[0-9]{2,20})$")
_DELIVERED = re.compile(r"^\+?[0-9]{3,20}$")


def _ip_address(value: str) -> str:
    if not _is_ip(value):
        raise ValueError(f"{value!r} is not an IP address")
    return value


_IPAddress = Annotated[str, AfterValidator(_ip_address)]


class EdgeNode(_Section):
    """One Asterisk node behind the SIP edge, as the edge reaches it."""

    name: str = Field(pattern=r"^[a-z][a-z0-9-]{0,30}$")
    host: _IPAddress = Field(description="the node's SIP address")
    sip_port: int = Field(5060, ge=1, le=65535)


class EdgeSettings(_Section):
    """Kamailio in front of several Asterisk nodes (DESIGN.md, "Past one
    machine"). Off, the hotline is one node and carriers reach Asterisk."""

    enabled: bool = False
    host: _IPAddress = Field(default_factory=_loopback_default)
    sip_port: int = Field(5070, ge=1, le=65535)
    instance_dir: Path = Field(Path("var/edge"), description="rendered config, logs, control socket")
    binary: Path = Path("/usr/sbin/kamailio")
    modules: Path = Path("/usr/lib/x86_64-linux-gnu/kamailio/modules")
    nodes: list[EdgeNode] = Field(default_factory=list)
    # Networks that may send calls to the edge (the carriers'); trunks[].match
    # and the nodes are added. Everything else gets 403.
    sip_networks: list[str] = Field(default_factory=lambda: ["127.0.0.0/8"])
    # Every node is asked (SIP OPTIONS) each probe_seconds; one that misses
    # probe_misses in a row gets no new calls until it answers again.
    probe_seconds: int = Field(1, ge=1, le=60)
    probe_misses: int = Field(2, ge=1, le=10)
    # A node that has not answered an INVITE at all within this many ms is
    # passed over for the next one, so the caller is not lost to a dead node.
    invite_timeout_ms: int = Field(2000, ge=500, le=30000)
    # A source that is neither a node nor a carrier and sends more than
    # flood_requests in flood_seconds is dropped for flood_block_seconds.
    flood_requests: int = Field(30, ge=5, le=100_000)
    flood_seconds: int = Field(2, ge=1, le=60)
    flood_block_seconds: int = Field(300, ge=10, le=86400)
    boot_timeout: float = Field(15.0, gt=0, le=300)
    # Seat phones register here (Kamailio's registrar, their passwords read
    # from the shared PostgreSQL database) and every node rings a seat through
    # the edge, so a seat can take calls from any node. Off: seats register
    # at their node's Asterisk, as on a single node.
    registrar: bool = False
    # The desk's browser phones register here too, over SIP on websocket,
    # relayed by the controller where the desk is open (seats/webphone.py):
    # this port on `host` takes websocket connections from the nodes only.
    ws_port: int = Field(5066, ge=1, le=65535)
    # The digest realm seat phones authenticate in.
    realm: str = Field("hotline", pattern=r"^[a-z][a-z0-9.-]{0,62}$")
    # Failed authentications from one address before it is dropped for
    # flood_block_seconds (guessing seats' passwords).
    auth_failures: int = Field(5, ge=1, le=1000)

    @field_validator("sip_networks")
    @classmethod
    def _edge_networks(cls, value: list[str]) -> list[str]:
        return [_network(n) for n in value]

    @model_validator(mode="after")
    def _nodes_unique(self) -> EdgeSettings:
        names = [n.name for n in self.nodes]
        if len(set(names)) != len(names):
            raise ValueError("edge.nodes: names must be unique")
        if self.enabled and not self.nodes:
            raise ValueError("edge.enabled needs at least one node in edge.nodes")
        return self


class ClusterSettings(_Section):
    """Several controllers on one PostgreSQL database, one per node: one of
    them leads and makes the cluster-wide decisions (hotline/cluster/)."""

    # This controller's node name; empty: a single node, which always leads.
    node: str = Field("", pattern=r"^([a-z][a-z0-9-]{0,30})?$")
    # Followers try for the lead this often; the leader checks its database
    # connection this often and steps down when it goes unanswered.
    poll_seconds: float = Field(1.0, gt=0, le=60)
    heartbeat_seconds: float = Field(1.0, gt=0, le=60)
    # A seat the leader moved to serve waiting callers stays on its new node
    # at least this long (no seat bounces between two busy nodes).
    seat_settle_seconds: float = Field(5.0, ge=0, le=300)
    # `hotline cluster up`: the port of its private PostgreSQL's Unix socket.
    local_pg_port: int = Field(5433, ge=1, le=65535)


class Trunk(_Section):
    """A carrier's SIP trunk (or a gateway's). Listed in order of preference:
    outbound calls take the first one that is up."""

    name: str = Field(description="lower-case name, e.g. telecom-a")
    # An IPv4 address or a host name (carriers' SBCs in China face IPv4).
    host: str = Field(pattern=r"^[A-Za-z0-9.-]{1,253}$")
    port: int = Field(5060, ge=1, le=65535)
    transport: Literal["udp", "tcp", "tls"] = "udp"
    # Registration (the carrier knows the hotline by account), or none: the
    # carrier's addresses in match identify its calls.
    registration: bool = False
    username: str = Field("", pattern=r"^[A-Za-z0-9_.+-]{0,64}$")
    password: str = Field("", description="empty: trunk_passwords.<name> in the secrets file")
    match: list[str] = Field(default_factory=list, description="addresses/networks the carrier sends from")
    # Numbers as the carrier delivers them -> the hotline's number they mean
    # (12345 or a legacy number); empty: those numbers themselves.
    numbers: dict[str, str] = Field(default_factory=dict)
    # The carrier confirms it is alive every qualify_seconds (SIP OPTIONS);
    # unanswered, the trunk counts as down and the next one takes the calls.
    qualify_seconds: int = Field(10, ge=2, le=300)
    # G.711 A-law first: the Chinese network's own.
    codecs: list[Literal["alaw", "ulaw"]] = Field(default_factory=lambda: ["alaw", "ulaw"], min_length=1)
    max_calls: int = Field(0, ge=0, le=100_000, description="0: no limit")

    @field_validator("name")
    @classmethod
    def _name(cls, value: str) -> str:
        if not _TRUNK_NAME.match(value) or value.startswith("seat"):
            raise ValueError(f"{value!r}: lower-case letters, digits and '-', not starting with 'seat'")
        return value

    @field_validator("match")
    @classmethod
    def _match(cls, value: list[str]) -> list[str]:
        return [_network(n) for n in value]

    @field_validator("numbers")
    @classmethod
    def _numbers(cls, value: dict[str, str]) -> dict[str, str]:
        for delivered, meant in value.items():
            if not _DELIVERED.match(delivered):
                raise ValueError(f"{delivered!r} is not a number as delivered (+ and 3-20 digits)")
            if not _EXTEN.match(meant):
                raise ValueError(f"{meant!r} is not a hotline number")
        return value

    @model_validator(mode="after")
    def _auth(self) -> Trunk:
        if self.registration and not self.username:
            raise ValueError(f"trunk {self.name}: registration needs a username")
        if not self.registration and not self.match:
            raise ValueError(f"trunk {self.name}: without registration, match must list the carrier's addresses")
        if not self.match and not _is_ip(self.host):
            raise ValueError(
                f"trunk {self.name}: host is a name; list the carrier's signalling addresses in "
                "match (the SIP ACL admits only listed networks)"
            )
        return self


class OutboundSettings(_Section):
    """Calls the hotline places: callbacks, revisits, transfers to 110 and departments."""

    # Shown to the called party (and sent as P-Asserted-Identity); empty: hotline_number.
    caller_id: str = Field("", pattern=r"^[0-9]{0,15}$")
    # Destinations a trunk may carry (Asterisk patterns): mobiles, fixed lines
    # with area code, local numbers, emergency and 12xxx service numbers.
    # Anything else (international, premium) is refused in the dialplan.
    allowed: list[str] = Field(
        default_factory=lambda: [
            "_1[3-9]XXXXXXXXX",
            "_0[1-9]XXXXXXXX",
            "_0[1-9]XXXXXXXXX",
            "_[2-8]XXXXXXX",
            "_[2-8]XXXXXX",
            "110",
            "119",
            "120",
            "122",
            "_12XXX",
        ]
    )
    ring_seconds: int = Field(60, ge=5, le=300)

    @field_validator("allowed")
    @classmethod
    def _patterns(cls, value: list[str]) -> list[str]:
        for p in value:
            if not _PATTERN.match(p):
                raise ValueError(f"{p!r} is not a digits pattern (e.g. _1[3-9]XXXXXXXXX or 110)")
        return value


class SipSecuritySettings(_Section):
    """Blocking addresses that keep failing SIP authentication (scanners)."""

    enabled: bool = True
    failures: int = Field(5, ge=1, le=1000, description="failed attempts from one address ...")
    window_seconds: float = Field(60.0, gt=0, le=86400, description="... within this long block it")
    block_seconds: float = Field(3600.0, gt=0, le=30 * 86400)
    # Never blocked (still logged): the controller's own host and networks
    # the operator vouches for. Carriers' match addresses are never blocked.
    never_block: list[str] = Field(default_factory=lambda: ["127.0.0.1/32", "::1/128"])
    # Counted, but only ever an alert, never a block: a seat network blocked
    # by mistake takes the seats off the air. None: the private and loopback
    # networks among pbx.sip_networks (seats on the public internet are
    # still blocked when they fail).
    alert_only: list[str] | None = None

    @field_validator("never_block", "alert_only")
    @classmethod
    def _networks(cls, value: list[str] | None) -> list[str] | None:
        return None if value is None else [_network(n) for n in value]


class SeatSettings(_Section):
    count: int = Field(26, ge=1, le=9999)
    prefix: str = Field("seat", pattern=r"^[a-z]+$")
    # pjsip: seats are softphones (PJSIP/seatNN). simulated: each seat is a
    # Local channel that answers by itself (demos, tests, load runs).
    phones: Literal["pjsip", "simulated"] = "pjsip"
    # The floor as the seat map draws it: seats per row, and names on the floor.
    columns: int = Field(6, ge=1, le=64)
    labels: dict[str, str] = Field(default_factory=dict, description="seat -> name shown, e.g. A区1号")

    # Monitoring phones (监听话机): the shift leads' own extensions, never queue
    # members, that ring into a listen, whisper or barge.
    monitors: int = Field(2, ge=0, le=99)
    # A browser phone that went away mid-call has this long to come back
    # before its caller is put back at the front of the queue (tickets/phone_lost.py).
    webphone_grace_seconds: float = Field(5.0, ge=0, le=120)

    def interface(self, seat: str) -> str:
        """The seat's queue member: a Local channel that rings the seat's
        desk phone and browser phone, whichever are registered."""
        return f"Local/{seat}@sim-seat/n" if self.phones == "simulated" else f"Local/{seat}@hotline-seat/n"

    def state_interface(self, seat: str) -> str:
        """Where app_queue reads the member's state ('' : its interface's):
        the hint over both phones, so a seat with none registered is unavailable."""
        return "" if self.phones == "simulated" else f"hint:{seat}@hotline-seat"

    def monitor_names(self) -> list[str]:
        return [f"monitor{i:02d}" for i in range(1, self.monitors + 1)]

    def monitor_interface(self, name: str) -> str:
        """A monitoring phone rings its desk phone and the lead's browser phone, whichever are registered."""
        return f"Local/{name}@sim-monitor/n" if self.phones == "simulated" else f"Local/{name}@hotline-monitor-phone/n"

    def names(self) -> list[str]:
        width = max(2, len(str(self.count)))
        return [f"{self.prefix}{i:0{width}d}" for i in range(1, self.count + 1)]


class DatabaseSettings(_Section):
    url: str = Field("", description="SQLAlchemy async URL; empty: SQLite in state_dir/hotline.db")
    echo: bool = False
    # A fixed pool: with aiosqlite every new connection starts a thread from
    # the event loop, and overflow connections made and dropped in a burst
    # were seen stalling the loop (bench/acd_load.py). Short reads queue.
    pool_size: int = Field(12, ge=1, le=200)
    max_overflow: int = Field(0, ge=0, le=500)


_EXTEN = re.compile(r"^[0-9]{3,15}$")
_HHMM = re.compile(r"^([01][0-9]|2[0-3]):[0-5][0-9]$")


def _hhmm(value: str) -> str:
    if not _HHMM.match(value):
        raise ValueError(f"{value!r} is not a time HH:MM")
    return value


def _iso_dates(value: list[str]) -> list[str]:
    import datetime as _dt

    for d in value:
        try:
            _dt.date.fromisoformat(d)
        except ValueError:
            raise ValueError(f"{d!r} is not a date YYYY-MM-DD") from None
    return value


HHMM = Annotated[str, AfterValidator(_hhmm)]  # a local time of day
Dates = Annotated[list[str], AfterValidator(_iso_dates)]  # YYYY-MM-DD days


class Schedule(_Section):
    """A weekly window: ISO weekdays (1 = Monday) and a local time span;
    `end` before `start` runs past midnight, `end` equal to `start` is the
    whole day."""

    weekdays: list[int] = Field(default_factory=lambda: [1, 2, 3, 4, 5, 6, 7])
    start: HHMM = "08:00"
    end: HHMM = "20:00"

    @field_validator("weekdays")
    @classmethod
    def _days(cls, value: list[int]) -> list[int]:
        if not value or any(d < 1 or d > 7 for d in value):
            raise ValueError("weekdays are 1 (Monday) to 7 (Sunday)")
        return value


class IvrSettings(_Section):
    prompts_dir: Path | None = Field(None, description="synthesised prompts; default: the PBX instance's lib/prompts")
    pbx_prompts_dir: str = Field("/var/lib/asterisk/hotline/prompts", description="the same folder as Asterisk sees it")
    messages_dir: Path | None = Field(None, description="voice messages; default: the PBX instance's lib/messages")
    pbx_messages_dir: str = "/var/lib/asterisk/hotline/messages"
    voice: str = "cmn-latn-pinyin"
    speed: int = Field(180, ge=80, le=400)
    # The validator warns when a caller who presses nothing needs longer than
    # this to reach the queue (prompts + waits, from the prompt audio).
    max_seconds_to_seat: float = Field(15.0, gt=0, le=300)
    timezone: str = "Asia/Shanghai"
    # Named weekly windows that time_switch nodes refer to.
    schedules: dict[str, Schedule] = Field(
        default_factory=lambda: {
            "day": Schedule(start="08:00", end="20:00"),
            "lawyer": Schedule(weekdays=[1, 2, 3, 4, 5], start="09:00", end="17:00"),
        }
    )
    # The State Council's public holidays and make-up working days (调休) come
    # from the chinese-calendar package; these local dates add to them (a
    # local holiday, a year the package does not know yet) and win over them.
    official_calendar: bool = Field(True, description="use the State Council's holidays and make-up working days")
    holidays: Dates = Field(default_factory=list, description="YYYY-MM-DD dates")
    workdays: Dates = Field(default_factory=list, description="YYYY-MM-DD weekend days worked (调休)")
    max_message_seconds: int = Field(120, ge=5, le=600)
    # dialplan: each published flow is also written as dialplan and calls
    # reach the controller over FastAGI only at nodes that need it (reading
    # digits, a ticket's status, a message); fastagi: every step over FastAGI.
    engine: Literal["dialplan", "fastagi"] = Field("dialplan", description="who runs the IVR's steps")

    @field_validator("timezone")
    @classmethod
    def _tz(cls, value: str) -> str:
        import zoneinfo

        try:
            zoneinfo.ZoneInfo(value)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValueError(f"unknown time zone {value!r}") from None
        return value


class LineWindow(_Section):
    schedule: str = Field(description="a window of ivr.schedules")
    lines: int = Field(ge=0, le=999)


class OverflowSettings(_Section):
    """Overflow (溢出): when the answer-within-15-seconds promise is at risk,
    agents in ticket work are brought onto a line (their item parked) and
    sent back once the queue has been calm."""

    enabled: bool = True
    risk_seconds: float = Field(10.0, gt=0, le=600, description="a caller waiting this long puts the target at risk")
    target_seconds: float = Field(15.0, gt=0, le=600, description="the promise: answered within this")
    # The queue model's handle time per call (talk and after-call work) when
    # predicting how long the callers now waiting will wait.
    handle_seconds: float = Field(180.0, gt=0, le=3600)
    calm_seconds: float = Field(60.0, gt=0, le=3600, description="nobody waiting this long: pulled agents go back")
    min_stay_seconds: float = Field(180.0, ge=0, le=7200, description="a pulled agent stays on the line this long")
    max_pulls_per_hour: int = Field(3, ge=1, le=60, description="times one agent may be pulled within an hour")
    exempt: list[str] = Field(default_factory=list, description="agents never pulled (the lead can add more)")


class AcdSettings(_Section):
    queue: str = "hotline"
    # Legal calls in lawyer hours (ivr.schedules.lawyer): only lawyers are its members.
    lawyer_queue: str = "hotline-lawyer"
    ring_seconds: int = Field(15, ge=2, le=120, description="how long a seat rings before the next is tried")
    # Lines staffed in each window; outside every window, default_lines; on
    # ivr.holidays, holiday_lines.
    windows: list[LineWindow] = Field(default_factory=lambda: [LineWindow(schedule="day", lines=6)])
    default_lines: int = Field(2, ge=0, le=999)
    holiday_lines: int = Field(2, ge=0, le=999)
    wrapup_seconds: float = Field(30.0, ge=0, le=3600)
    ring_no_answer_limit: int = Field(2, ge=1, le=10)
    no_answer_reason: str = "未接听"
    standby_wait_seconds: float = Field(15.0, gt=0, le=3600)
    standby_calm_seconds: float = Field(60.0, gt=0, le=3600)
    tick_seconds: float = Field(1.0, gt=0, le=10)
    # Callbacks (回拨): offered to a caller who has waited this long, keeping
    # their place; and made for every caller who gave up after waiting longer
    # than callback_abandon_seconds (漏接回拨).
    announce_seconds: int = Field(30, ge=5, le=3600, description="position/wait announcement interval")
    callback_offer_seconds: int = Field(60, ge=5, le=3600)
    callback_abandon_seconds: float = Field(5.0, ge=0, le=3600)
    callback_attempts: int = Field(3, ge=1, le=10)
    callback_retry_seconds: float = Field(120.0, ge=1, le=86400)
    overflow: OverflowSettings = Field(default_factory=OverflowSettings)


class Category(_Section):
    """A node of the ticket category tree (诉求分类); deadlines are inherited."""

    code: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,31}$")
    name: str = Field(min_length=1, max_length=32)
    deadline_days: float | None = Field(None, gt=0, le=365, description="handling deadline; none: the parent's")
    department: str = Field("", description="the department it usually goes to (a departments code)")
    children: list[Category] = Field(default_factory=list)


class Department(_Section):
    code: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,31}$")
    name: str = Field(min_length=1, max_length=32)
    # Where a blind transfer of a caller to this department dials.
    phone: str = Field("", pattern=r"^[0-9]{0,15}$")


class Community(_Section):
    """A community (社区) and its grid station (网格站), which takes the
    tickets about the addresses it owns (属地优先)."""

    code: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,31}$", description="the station's code where tickets go")
    name: str = Field(min_length=1, max_length=24)
    # Roads, compounds and buildings it owns, as they appear in an address.
    addresses: list[str] = Field(default_factory=list)

    @property
    def station(self) -> str:
        return f"{self.name}网格站"


class Street(_Section):
    """A street office (街道) of a district, with its communities."""

    code: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,31}$")
    name: str = Field(min_length=1, max_length=24)
    district: str
    communities: list[Community] = Field(default_factory=list)


def _seed(key: str) -> Any:
    """Reference data shipped in hotline/seed/tickets.yaml (read once)."""
    global _SEED
    if _SEED is None:
        import yaml

        _SEED = yaml.safe_load((Path(__file__).parent / "seed" / "tickets.yaml").read_text(encoding="utf-8"))
    return _SEED[key]


_SEED: dict[str, Any] | None = None


class TicketSettings(_Section):
    categories: list[Category] = Field(default_factory=lambda: [Category(**c) for c in _seed("categories")])
    departments: list[Department] = Field(default_factory=lambda: [Department(**d) for d in _seed("departments")])
    districts: list[str] = Field(default_factory=lambda: list(_seed("districts")))
    # District -> street -> community: the grid stations (社区网格).
    streets: list[Street] = Field(default_factory=lambda: [Street(**s) for s in _seed("streets")])
    deadline_days: float = Field(5, gt=0, le=365, description="when a category names none")
    revisit_days: float = Field(2, gt=0, le=365, description="feedback must be revisited within")
    # Outside numbers an agent may transfer a caller to, or add to a call.
    outside_numbers: dict[str, str] = Field(
        default_factory=lambda: {str(k): v for k, v in _seed("outside_numbers").items()}
    )
    # Caller numbers from the same caller within this many days flag a repeat caller.
    repeat_days: int = Field(30, ge=1, le=365)
    history_limit: int = Field(10, ge=1, le=100)
    survey: bool = Field(True, description="after the seat hangs up, the caller rates the service")
    # The subtree a lawyer's desk classifies with (律师坐席); empty: the whole tree.
    legal_category: str = Field("legal", pattern=r"^([a-z0-9][a-z0-9-]{0,31})?$")

    @model_validator(mode="after")
    def _tree(self) -> TicketSettings:
        depts = {d.code for d in self.departments}
        if len(depts) != len(self.departments):
            raise ValueError("departments: codes must be unique")
        seen: set[str] = set()

        def walk(nodes: list[Category], where: str) -> None:
            for n in nodes:
                if n.code in seen:
                    raise ValueError(f"categories: code {n.code!r} appears twice")
                seen.add(n.code)
                if n.department and n.department not in depts:
                    raise ValueError(f"categories: {where}{n.code} names unknown department {n.department!r}")
                walk(n.children, f"{where}{n.code}/")

        walk(self.categories, "")
        stations = [c.code for s in self.streets for c in s.communities]
        if len(set(stations)) != len(stations) or set(stations) & depts:
            raise ValueError("streets: community codes must be unique and differ from department codes")
        for s in self.streets:
            if s.district not in self.districts:
                raise ValueError(f"streets: {s.code} is in unknown district {s.district!r}")
        for number in self.outside_numbers:
            if not _EXTEN.match(number):
                raise ValueError(f"outside_numbers: {number!r} is not a dialable number (3-15 digits)")
        return self


WORK_KINDS = ("intake", "voicemail", "callback", "revisit", "review", "redispatch", "duplicate", "legal")
# The skill of a lawyer's work (律师坐席): lawyers take only such items.
LAWYER_SKILL = "lawyer"


class WorkKind(_Section):
    """One type of non-voice work: how urgent, and by when it must be done."""

    priority: int = Field(ge=1, le=9, description="1 is offered first")
    # The service level: minutes from arrival, or working days (skipping
    # weekends and ivr.holidays); revisits take their ticket's revisit date.
    deadline_minutes: float | None = Field(None, gt=0, le=60 * 24 * 90)
    deadline_working_days: float | None = Field(None, gt=0, le=90)
    skill: str = Field("", max_length=16, description="only agents with this skill take it")

    @model_validator(mode="after")
    def _one_deadline(self) -> WorkKind:
        if (self.deadline_minutes is None) == (self.deadline_working_days is None):
            raise ValueError("give deadline_minutes or deadline_working_days")
        return self


def _work_kinds() -> dict[str, WorkKind]:
    return {
        # GB/T 33358: media other than the phone answered within 3 minutes.
        "intake": WorkKind(priority=1, deadline_minutes=3),
        "voicemail": WorkKind(priority=2, deadline_minutes=30),
        "callback": WorkKind(priority=2, deadline_minutes=60),
        "revisit": WorkKind(priority=3, deadline_working_days=2),
        "redispatch": WorkKind(priority=3, deadline_working_days=1),
        "review": WorkKind(priority=4, deadline_working_days=1),
        "duplicate": WorkKind(priority=4, deadline_working_days=1),
        # A legal question left outside lawyer hours: called back on the next
        # rota day (offered from its start, due by its end).
        "legal": WorkKind(priority=2, deadline_working_days=1, skill=LAWYER_SKILL),
    }


class WorkSettings(_Section):
    """Work items offered to agents who are logged in and not on a phone line."""

    kinds: dict[str, WorkKind] = Field(default_factory=_work_kinds)
    per_agent: int = Field(1, ge=1, le=10, description="items an agent holds at once")
    offer_seconds: float = Field(30.0, gt=0, le=3600, description="an offer not accepted by then goes to the next")
    # Work other paths create (voice messages, failed callbacks) is picked up
    # at least this often; the API's own intake is offered at once.
    sync_seconds: float = Field(2.0, gt=0, le=60)
    # A revisit is offered this long after the department's feedback was approved.
    revisit_delay_hours: float = Field(0.0, ge=0, le=24 * 30)
    # A voice message or failed callback not reached: tried again after this, at most attempts times.
    retry_minutes: float = Field(30.0, gt=0, le=24 * 60)
    attempts: int = Field(3, ge=1, le=10)
    # Category (or its parent) -> the skill its items need, e.g. {"enterprise" = "涉企"}.
    category_skills: dict[str, str] = Field(default_factory=dict)
    # A suspected duplicate: open tickets within tickets.repeat_days sharing the
    # caller, or address and category, or this much of their text (0-1).
    similar_text: float = Field(0.6, gt=0, le=1)

    @field_validator("kinds")
    @classmethod
    def _all_kinds(cls, value: dict[str, WorkKind]) -> dict[str, WorkKind]:
        unknown = set(value) - set(WORK_KINDS)
        if unknown:
            raise ValueError(f"unknown work kinds {sorted(unknown)} (known: {', '.join(WORK_KINDS)})")
        return {**_work_kinds(), **value}


class ChannelGateway(_Section):
    """Where replies and status changes for one channel's citizens go."""

    url: str = Field(pattern=r"^https?://[^\s]{1,500}$")
    token: str = Field("", description="empty: outbox_tokens.<channel> in the secrets file")
    timeout: float = Field(10.0, gt=0, le=120)
    # Delivery is retried with doubling waits from retry_initial to retry_max;
    # after max_attempts the message is shown on the ticket as undeliverable.
    retry_initial: float = Field(5.0, gt=0, le=3600)
    retry_max: float = Field(600.0, gt=0, le=86400)
    max_attempts: int = Field(20, ge=1, le=1000)


class PoliceSettings(_Section):
    """The link with the police's 110 centre (国办发〔2022〕12号). 110 hands
    over non-police matters as signed incidents; the hotline pushes the
    matters it sends to 110 and reports the status of 110's matters to `url`
    (docs/api/police-110.yaml), every request signed with the peer secret
    `peer_secrets.110` from the secrets file."""

    number: str = Field("110", pattern=r"^[0-9]{3,15}$", description="the outside number a transfer to 110 dials")
    url: str = Field(
        "",
        pattern=r"^(https?://[^\s]{1,500})?$",
        description="110's interface; empty: nothing is sent (incidents are still received)",
    )
    # How 110 reaches the hotline, for the recording links in pushed incidents.
    hotline_url: str = Field(
        "", pattern=r"^(https?://[^\s]{1,500})?$", description="empty: http://<web.host>:<web.port>"
    )
    timeout: float = Field(10.0, gt=0, le=120)
    retry_initial: float = Field(5.0, gt=0, le=3600)
    retry_max: float = Field(600.0, gt=0, le=86400)
    max_attempts: int = Field(100, ge=1, le=10_000)
    max_skew_seconds: int = Field(300, ge=10, le=3600, description="a signed request older than this is refused")
    recording_link_hours: int = Field(72, ge=1, le=24 * 90)
    # 110's category codes -> the hotline's categories; an unknown code
    # leaves the ticket for the agent to classify.
    category_map: dict[str, str] = Field(default_factory=dict)
    # The agreed catalogue (对接事项清单), shown on the desk as guidance.
    to_110: list[str] = Field(
        default_factory=lambda: [
            "正在发生的违法犯罪",
            "打架斗殴、人身安全受到威胁",
            "交通事故、交通堵塞需现场处置",
            "群体性事件、危及公共安全",
            "走失人员、疑似被拐",
            "噪音扰民伴随打斗或威胁",
        ]
    )
    from_110: list[str] = Field(
        default_factory=lambda: [
            "水电气热故障与抢修",
            "市政设施损坏（路灯、井盖、道路）",
            "噪音、油烟等生活环境投诉",
            "消费、物业、劳动纠纷",
            "政策咨询与办事指引",
            "非紧急求助（开锁以外的生活求助）",
        ]
    )

    def gateway(self) -> ChannelGateway | None:
        if not self.url:
            return None
        return ChannelGateway(
            url=self.url,
            token="",
            timeout=self.timeout,
            retry_initial=self.retry_initial,
            retry_max=self.retry_max,
            max_attempts=self.max_attempts,
        )


class GridSettings(_Section):
    """Photos grid workers take on site and on patrol."""

    photo_max_bytes: int = Field(5 * 1024 * 1024, ge=10_000, le=50 * 1024 * 1024)
    photos_per_ticket: int = Field(20, ge=1, le=200)
    reports_per_hour: int = Field(30, ge=1, le=10_000, description="patrol reports one grid worker may file an hour")


class BriefingSettings(_Section):
    """Leaders' briefings (简报): when the scheduled ones are made (city time)
    and what counts as a hot topic or a repeat problem."""

    schedule: bool = Field(True, description="make the daily/weekly/monthly briefings on schedule")
    at: str = Field(
        "07:30",
        pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$",
        description="daily: the day before; weekly (Mon-Sun): on Mondays; monthly: on the 1st",
    )
    baseline_weeks: int = Field(4, ge=1, le=26, description="hot topics are measured against this many weeks before")
    hot_min_tickets: int = Field(3, ge=1, le=1000, description="a hot topic has at least this many tickets")
    hot_ratio: float = Field(2.0, ge=1.0, le=100.0, description="and this many times its usual rate")
    hot_topics: int = Field(10, ge=1, le=50)
    repeat_min: int = Field(3, ge=2, le=1000, description="same address and category this often is a repeat problem")
    repeats_listed: int = Field(20, ge=1, le=200, description="the most repeated listed; the rest counted")
    extra_words: list[str] = Field(default_factory=list, description="words the segmenter keeps whole")
    on_demand_per_hour: int = Field(
        12, ge=1, le=1000, description="briefings one user may make on demand in an hour (each is kept)"
    )


class CarMoveSettings(_Section):
    """Car moving (挪车) with masked numbers: the pool of numbers X the hotline
    calls owners from (the carrier delivers calls to them back to the
    hotline), how long a binding lives, and the limits."""

    pool: list[str] = Field(default_factory=list, description="numbers X; empty: car moving is off")
    ttl_minutes: float = Field(30, gt=0, le=24 * 60)
    monthly_limit: int = Field(5, ge=1, le=1000, description="bindings one requester may make a month")
    ring_seconds: int = Field(40, ge=5, le=120)
    code_minutes: int = Field(10, ge=1, le=60, description="a registration code is valid this long")
    code_attempts: int = Field(5, ge=1, le=20)
    registrations_per_address_hour: int = Field(5, ge=1, le=10_000, description="public page, per address")
    codes_per_phone_hour: int = Field(3, ge=1, le=100, description="registration codes sent to one phone an hour")

    @field_validator("pool")
    @classmethod
    def _digits(cls, value: list[str]) -> list[str]:
        for x in value:
            if not _EXTEN.match(x):
                raise ValueError(f"carmove.pool: {x!r} is not a dialable number (3-15 digits)")
        if len(set(value)) != len(value):
            raise ValueError("carmove.pool: numbers must be unique")
        return value


class PublicSettings(_Section):
    """The public web intake page (网上受理): no login, so it is throttled."""

    enabled: bool = True
    per_address_hour: int = Field(5, ge=1, le=10_000, description="requests one address may file per hour")
    status_per_address_hour: int = Field(60, ge=1, le=100_000)
    # Query-code guesses at one ticket from anywhere: many addresses together
    # still get this many tries an hour at an 8-digit code.
    status_per_ticket_hour: int = Field(10, ge=1, le=10_000)
    max_content_chars: int = Field(2000, ge=50, le=20_000)


class RecordingSettings(_Section):
    dir: Path | None = Field(None, description="recordings; default: the PBX instance's lib/recordings")
    pbx_dir: str = Field("/var/lib/asterisk/hotline/recordings", description="the same folder as Asterisk sees it")
    retention_days: int = Field(180, ge=1, le=3650)


class QualitySettings(_Section):
    """Quality inspection (质检): every answered call is recorded with each
    party on its own file and checked; these rules flag it for a lead."""

    enabled: bool = Field(True, description="check every answered call (a child process reads its recordings)")
    silence_seconds: float = Field(10.0, gt=0, le=600, description="flag a silence (nobody speaks) longer than this")
    overtalk_percent: float = Field(10.0, gt=0, le=100, description="flag both speaking at once for more of the call")
    greet_seconds: float = Field(5.0, gt=0, le=60, description="flag an agent who has not spoken by then")
    vad_aggressiveness: int = Field(2, ge=0, le=3, description="WebRTC VAD: 0 keeps the most as speech, 3 the least")
    # Of the calls no rule flags, this share is put before the leads too (抽检).
    sample_percent: float = Field(5.0, ge=0, le=100)


class TriageSettings(_Section):
    """Triage suggestions (智能分类/派单建议): the desk suggests categories and
    the responsible unit from a model learned from closed tickets, retrained
    daily at `retrain_at` (city time) in a child process."""

    enabled: bool = Field(True, description="suggest at the desk (a child process holds the model)")
    schedule: bool = Field(True, description="retrain daily")
    retrain_at: str = Field("04:10", pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
    history_days: int = Field(365, ge=7, le=3650, description="closed tickets of this many days are learned from")
    min_tickets: int = Field(300, ge=20, le=1_000_000, description="fewer closed tickets: no model is trained")
    # A retrained model that does worse than this on the newest fifth of its
    # tickets (held out by time) is kept but not served.
    min_top3: float = Field(0.6, ge=0, le=1)
    keep: int = Field(5, ge=1, le=100, description="model versions kept on disk")
    timeout_ms: int = Field(800, ge=50, le=10_000, description="a suggestion later than this is given up")


class RetentionSettings(_Section):
    """How long personal data is kept (个人信息保护). Past its period it is
    deleted (voice messages, photos, expired sessions, logs) or anonymised
    (callers' numbers and names: the rows stay, so figures and briefings keep
    working); recordings follow recordings.retention_days. A ticket under a
    legal hold keeps everything. The run is daily, at `at` (city time)."""

    schedule: bool = Field(True, description="run the retention purge daily")
    at: str = Field("03:30", pattern=r"^([01][0-9]|2[0-3]):[0-5][0-9]$")
    voice_messages_days: int = Field(90, ge=1, le=3650)
    photos_days: int = Field(365, ge=1, le=3650, description="after the ticket closed")
    callers_days: int = Field(365, ge=1, le=3650, description="callers' numbers and names, after the ticket closed")
    sessions_days: int = Field(30, ge=1, le=3650, description="expired web sessions")
    # The Cybersecurity Law (网络安全法, art. 21) asks network logs be kept no less than six months.
    logs_days: int = Field(180, ge=1, le=3650, description="the access log and the PBX's logs")


class Shift(_Section):
    """One shift of the day (班次); `end` before `start` runs past midnight."""

    code: str = Field(pattern=r"^[A-Za-z0-9]{1,8}$")
    name: str = Field(min_length=1, max_length=16)
    start: HHMM
    end: HHMM


def _five_shifts() -> list[Shift]:
    # The model centre: five shifts a day, 7x24, overlapping at the changes.
    return [
        Shift(code="A", name="早班", start="07:00", end="12:00"),
        Shift(code="B", name="白班", start="08:30", end="17:30"),
        Shift(code="C", name="中班", start="12:00", end="20:00"),
        Shift(code="D", name="晚班", start="17:00", end="23:30"),
        Shift(code="N", name="夜班", start="23:00", end="07:30"),
    ]


class RosterSettings(_Section):
    """The roster (排班): the shifts, and how attendance is judged."""

    shifts: list[Shift] = Field(default_factory=_five_shifts)
    grace_minutes: int = Field(5, ge=0, le=120, description="logged in this late still counts as on time")
    # Shrinkage (不在线比例): the share of a rostered agent's time off the
    # phone lines, so a shift needs more people than the lines it staffs.
    breaks_pct: float = Field(10.0, ge=0, lt=100, description="breaks and meals")
    ticket_work_pct: float = Field(15.0, ge=0, lt=100, description="tickets, callbacks, revisits off the lines")
    absence_pct: float = Field(5.0, ge=0, lt=100, description="sick leave and other absence")

    @property
    def on_line_share(self) -> float:
        """The share of a rostered agent's time on a line."""
        return (1 - self.breaks_pct / 100) * (1 - self.ticket_work_pct / 100) * (1 - self.absence_pct / 100)

    @model_validator(mode="after")
    def _unique(self) -> RosterSettings:
        codes = [s.code for s in self.shifts]
        if len(set(codes)) != len(codes):
            raise ValueError("roster.shifts: codes must be unique")
        return self


class PlanTrigger(_Section):
    """When a plan starts by itself: more than `waiting_over` callers waiting
    for `for_minutes` on end, or a connection rate over the last 30 minutes
    below `connection_below` (with at least 10 callers)."""

    waiting_over: int | None = Field(None, ge=0, le=10_000)
    for_minutes: float = Field(2.0, gt=0, le=240)
    connection_below: float | None = Field(None, gt=0, le=1)
    # A hot topic of the last 24 hours (the briefings' spike test) holding one
    # of these words suggests the plan; the lead confirms it.
    topics: list[str] = Field(default_factory=list)


class Plan(_Section):
    """A contingency plan (应急预案) an admin prepares: what changes at once
    when it starts; ending it restores what was before (plans/rules.py)."""

    code: str = Field(pattern=r"^[a-z0-9][a-z0-9-]{0,31}$")
    name: str = Field(min_length=1, max_length=32)
    note: str = Field("", max_length=500, description="what the lead should do while it runs")
    announcement: str = Field("", max_length=300, description="played to every caller before the menu")
    flow_version: int | None = Field(None, ge=1, description="a published version of the main IVR flow")
    lines: int | None = Field(None, ge=0, le=999)
    standby: Literal["on", "off", "auto"] | None = None
    overflow: bool | None = None
    # How often a waiting caller is offered a callback while it runs (0: not offered).
    callback_offer_seconds: int | None = Field(None, ge=0, le=3600)
    pinned: list[str] = Field(default_factory=list, description="knowledge-base article titles pinned on every desk")
    dates: Dates = Field(default_factory=list, description="YYYY-MM-DD days it starts by itself (a holiday)")
    trigger: PlanTrigger | None = None

    @model_validator(mode="after")
    def _offer(self) -> Plan:
        if self.callback_offer_seconds is not None and 0 < self.callback_offer_seconds < 5:
            raise ValueError("callback_offer_seconds: 0 (no offer) or at least 5")
        return self


def _sample_plans() -> list[Plan]:
    return [
        Plan(
            code="heating",
            name="供暖季开始",
            note="供暖问题集中：暖气类诉求按属地派单，必要时开启备班。",
            announcement="供暖季已开始，反映暖气不热请按 1，坐席将为您登记并派至属地网格。",
            lines=8,
            standby="on",
            overflow=True,
            pinned=["供暖问题受理要点"],
            trigger=PlanTrigger(topics=["暖气", "供暖"]),
        ),
        Plan(
            code="surge",
            name="话务高峰",
            note="排队持续偏高：调入工单处理中的坐席，暂缓非紧急回访。",
            overflow=True,
            standby="on",
            callback_offer_seconds=30,
            trigger=PlanTrigger(waiting_over=8, for_minutes=3),
        ),
    ]


class Settings(BaseSettings):
    """The effective configuration of one hotline installation."""

    EXACT: ClassVar[bool] = False

    model_config = SettingsConfigDict(
        env_prefix="HOTLINE_", env_nested_delimiter="__", extra="forbid", validate_assignment=True
    )

    state_dir: Path = Field(Path("var"), description="secrets, database, recordings")
    # Started as root, the controller and the PBX become this user.
    service_user: str = Field("hotline", pattern=r"^[a-z_][a-z0-9_-]{0,31}$")
    hotline_number: str = Field("12345", pattern=r"^[0-9]{3,15}$")
    # Older hotline numbers folded into 12345: extension -> tag kept on the call
    # and its ticket, for separate figures per old number.
    legacy_numbers: dict[str, str] = Field(default_factory=lambda: {"12319": "城建", "12369": "环保", "12333": "人社"})
    ami: AmiSettings = Field(default_factory=AmiSettings)
    agi: AgiSettings = Field(default_factory=AgiSettings)
    web: WebSettings = Field(default_factory=WebSettings)
    pbx: PbxSettings = Field(default_factory=PbxSettings)
    seats: SeatSettings = Field(default_factory=SeatSettings)
    database: DatabaseSettings = Field(default_factory=DatabaseSettings)
    ivr: IvrSettings = Field(default_factory=IvrSettings)
    acd: AcdSettings = Field(default_factory=AcdSettings)
    tickets: TicketSettings = Field(default_factory=TicketSettings)
    recordings: RecordingSettings = Field(default_factory=RecordingSettings)
    retention: RetentionSettings = Field(default_factory=RetentionSettings)
    quality: QualitySettings = Field(default_factory=QualitySettings)
    triage: TriageSettings = Field(default_factory=TriageSettings)
    trunks: list[Trunk] = Field(default_factory=list)
    outbound: OutboundSettings = Field(default_factory=OutboundSettings)
    sip_security: SipSecuritySettings = Field(default_factory=SipSecuritySettings)
    work: WorkSettings = Field(default_factory=WorkSettings)
    # Outbound gateways per channel (web, wechat, sms, app).
    channels: dict[str, ChannelGateway] = Field(default_factory=dict)
    police: PoliceSettings = Field(default_factory=PoliceSettings)
    grid: GridSettings = Field(default_factory=GridSettings)
    roster: RosterSettings = Field(default_factory=RosterSettings)
    plans: list[Plan] = Field(default_factory=_sample_plans)
    carmove: CarMoveSettings = Field(default_factory=CarMoveSettings)
    briefings: BriefingSettings = Field(default_factory=BriefingSettings)
    public: PublicSettings = Field(default_factory=PublicSettings)
    edge: EdgeSettings = Field(default_factory=EdgeSettings)
    cluster: ClusterSettings = Field(default_factory=ClusterSettings)

    @field_validator("legacy_numbers")
    @classmethod
    def _legacy_ok(cls, value: dict[str, str]) -> dict[str, str]:
        for number, tag in value.items():
            if not _EXTEN.match(number):
                raise ValueError(f"{number!r} is not a dialable number (3-15 digits)")
            if not tag or any(c in tag for c in ",;()\"'\n$\\"):
                raise ValueError(f"tag {tag!r} of {number} is empty or has characters the dialplan cannot hold")
        return value

    @model_validator(mode="after")
    def _no_clash(self) -> Settings:
        if self.hotline_number in self.legacy_numbers:
            raise ValueError(f"legacy number {self.hotline_number} is the hotline number itself")
        for w in self.acd.windows:
            if w.schedule not in self.ivr.schedules:
                raise ValueError(f"acd.windows: schedule {w.schedule!r} is not in ivr.schedules")
        for channel in self.channels:
            if channel not in GATEWAY_CHANNELS:
                raise ValueError(f"channels: {channel!r} is not a channel ({', '.join(GATEWAY_CHANNELS)})")
        names = [t.name for t in self.trunks]
        if len(set(names)) != len(names):
            raise ValueError("trunks: names must be unique")
        if self.cluster.node and not self.database.url.startswith("postgresql"):
            raise ValueError("cluster.node: several controllers share one PostgreSQL database (database.url)")
        if self.seats_at_edge and not self.database.url.startswith("postgresql"):
            raise ValueError("edge.registrar: the edge reads seats' passwords from PostgreSQL (database.url)")
        if self.edge.enabled and "edge" in names:
            raise ValueError("trunks: 'edge' is the name of the SIP edge's own trunk")
        ours = {self.hotline_number, *self.legacy_numbers, *self.carmove.pool}
        if {self.hotline_number, *self.legacy_numbers} & set(self.carmove.pool):
            raise ValueError("carmove.pool: a pool number is the hotline's own number")
        for t in self.trunks:
            for delivered, meant in t.numbers.items():
                if meant not in ours:
                    raise ValueError(
                        f"trunks.{t.name}.numbers: {delivered} -> {meant}, which is not "
                        "the hotline number or a legacy number"
                    )
        return self

    def trunk_numbers(self, trunk: Trunk) -> dict[str, str]:
        """Delivered number -> hotline number, for one trunk."""
        return dict(trunk.numbers) or {n: n for n in (self.hotline_number, *self.legacy_numbers, *self.carmove.pool)}

    @property
    def node_trunks(self) -> list[Trunk]:
        """The trunks this node's Asterisk has: the carriers', and with an edge
        in front, the edge as one more trunk known by address (listed last:
        outbound calls prefer a carrier)."""
        if not self.edge.enabled:
            return list(self.trunks)
        e = self.edge
        edge = Trunk(name="edge", host=e.host, port=e.sip_port, match=[e.host], qualify_seconds=5)
        return [*self.trunks, edge]

    @property
    def seats_at_edge(self) -> bool:
        """Seat phones register at the SIP edge and nodes ring them through it."""
        return self.edge.enabled and self.edge.registrar

    @property
    def carrier_networks(self) -> list[str]:
        """Where carriers send from: their match networks and IP hosts (the SIP
        ACL admits them; the SIP guard never blocks them)."""
        nets = [net for t in self.node_trunks for net in (*t.match, *([f"{t.host}/32"] if _is_ip(t.host) else []))]
        return list(dict.fromkeys(nets))

    @property
    def sip_alert_only_networks(self) -> list[str]:
        """Seat networks the SIP guard alerts on and never blocks."""
        if self.sip_security.alert_only is not None:
            return list(self.sip_security.alert_only)
        import ipaddress

        return [
            n
            for n in self.pbx.sip_networks
            if (net := ipaddress.ip_network(n)).is_private or net.is_loopback or net.is_link_local
        ]

    def gateway(self, channel: str) -> ChannelGateway | None:
        """Where messages for a channel's outbox go (110: the police link)."""
        if channel == "110":
            return self.police.gateway()
        return self.channels.get(channel)

    @property
    def hotline_url(self) -> str:
        host = f"[{self.web.host}]" if ":" in self.web.host else self.web.host
        return (self.police.hotline_url or f"http://{host}:{self.web.port}").rstrip("/")

    @property
    def outbound_caller_id(self) -> str:
        return self.outbound.caller_id or self.hotline_number

    @classmethod
    def settings_customise_sources(
        cls,
        settings_cls: type[BaseSettings],
        init_settings: PydanticBaseSettingsSource,
        env_settings: PydanticBaseSettingsSource,
        dotenv_settings: PydanticBaseSettingsSource,
        file_secret_settings: PydanticBaseSettingsSource,
    ) -> tuple[PydanticBaseSettingsSource, ...]:
        # The TOML file arrives through init kwargs (see load()); environment
        # wins, except for a snapshot handed to a child process (EXACT).
        return (init_settings,) if cls.EXACT else (env_settings, init_settings)

    # -- derived -----------------------------------------------------------
    @property
    def secrets_file(self) -> Path:
        return self.state_dir / SECRETS_NAME

    @property
    def database_url(self) -> str:
        return self.database.url or f"sqlite+aiosqlite:///{self.state_dir / 'hotline.db'}"

    @property
    def prompts_dir(self) -> Path:
        return self.ivr.prompts_dir or self.pbx.instance_dir / "lib" / "prompts"

    @property
    def messages_dir(self) -> Path:
        return self.ivr.messages_dir or self.pbx.instance_dir / "lib" / "messages"

    @property
    def recordings_dir(self) -> Path:
        return self.recordings.dir or self.pbx.instance_dir / "lib" / "recordings"

    @property
    def photos_dir(self) -> Path:
        """Grid workers' photos, beside the recordings (personal data: 0700)."""
        return self.recordings_dir.parent / "photos"
