"""What a seat's softphone needs, and a provisioning file for Linphone.

`hotline seat phone seat01` prints it for whoever sets up the desk; an agent
logged in at a seat gets a one-time provisioning link for their seat only
(Linphone fetches the link itself, without the agent's web session, so the
link is the credential: random, single use, ten minutes).
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Callable
from dataclasses import dataclass
from xml.sax.saxutils import escape

from hotline.config import Settings
from hotline.credentials import ensure_secrets
from hotline.errors import HotlineError
from hotline.pbx.tls import tls_files

LINK_SECONDS = 600


class UnknownSeat(HotlineError):
    error_id = "seat-unknown"
    status = 404


@dataclass(frozen=True, slots=True)
class PhoneDetails:
    seat: str
    server: str
    port: int
    transport: str
    user: str
    password: str
    fingerprint: str
    srtp: bool
    udp_port: int
    realm: str = "asterisk"

    def as_dict(self) -> dict[str, object]:
        return {
            "seat": self.seat,
            "server": self.server,
            "port": self.port,
            "transport": self.transport,
            "user": self.user,
            "password": self.password,
            "certificate_sha256": self.fingerprint,
            "srtp": self.srtp,
            "udp_port": self.udp_port,
            "uri": f"sip:{self.user}@{self.server}:{self.port};transport={self.transport}",
        }

    def text(self) -> str:
        """For a person at a terminal (and Chinese-speaking desk staff)."""
        lines = [
            f"座席 {self.seat} 的软电话设置 / softphone settings for {self.seat}",
            f"  服务器 server:      {self.server}",
            f"  端口 port:          {self.port} (TLS)；不支持 TLS 的话机用 UDP/TCP {self.udp_port}",
            "  传输 transport:     TLS",
            f"  用户名 user:        {self.user}",
            f"  密码 password:      {self.password}",
            f"  媒体加密 SRTP:      {'提供（SDES）' if self.srtp else '否'}",
            f"  证书指纹 SHA-256:   {self.fingerprint}",
            "  (自签名证书：在话机上核对指纹后信任 / self-signed: trust it after checking the fingerprint)",
        ]
        return "\n".join(lines)


def phone_details(settings: Settings, seat: str, shared_password: str | None = None) -> PhoneDetails:
    """A seat's phone, or a shift lead's monitoring phone (monitorNN).

    shared_password: the phone's password where the SIP edge reads it, when
    seats and monitoring phones register at the edge (seats/edge_passwords.py)."""
    if seat in settings.seats.monitor_names():
        password = shared_password or ensure_secrets(settings)["monitor_passwords"][seat]
    elif seat in settings.seats.names():
        password = shared_password or ensure_secrets(settings)["seat_passwords"][seat]
    else:
        raise UnknownSeat(f"没有座席或监听话机 {seat}")
    if settings.seats_at_edge:
        e = settings.edge
        # The edge speaks UDP; media still flows between phone and node.
        return PhoneDetails(
            seat=seat,
            server=e.host,
            port=e.sip_port,
            transport="udp",
            user=seat,
            password=password,
            fingerprint=tls_files(settings).fingerprint(),
            srtp=settings.pbx.srtp,
            udp_port=e.sip_port,
            realm=e.realm,
        )
    return PhoneDetails(
        seat=seat,
        server=settings.pbx.address,
        port=settings.pbx.sip_tls_port,
        transport="tls",
        user=seat,
        password=password,
        fingerprint=tls_files(settings).fingerprint(),
        srtp=settings.pbx.srtp,
        udp_port=settings.pbx.sip_port,
    )


def linphone_xml(d: PhoneDetails) -> str:
    """Linphone's remote provisioning format (an lpconfig XML document)."""

    def entry(name: str, value: object) -> str:
        return f'    <entry name="{name}" overwrite="true">{escape(str(value))}</entry>'

    proxy = f"<sip:{d.server}:{d.port};transport={d.transport}>"
    identity = f'"{d.seat}" <sip:{d.user}@{d.server}>'
    return "\n".join(
        [
            '<?xml version="1.0" encoding="UTF-8"?>',
            '<config xmlns="http://www.linphone.org/xsds/lpconfig.xsd"',
            '        xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance"',
            '        xsi:schemaLocation="http://www.linphone.org/xsds/lpconfig.xsd lpconfig.xsd">',
            '  <section name="proxy_0">',
            entry("reg_proxy", proxy),
            entry("reg_route", proxy),
            entry("reg_identity", identity),
            entry("reg_expires", 600),
            entry("reg_sendregister", 1),
            entry("realm", d.realm),
            "  </section>",
            '  <section name="auth_info_0">',
            entry("username", d.user),
            entry("userid", d.user),
            entry("passwd", d.password),
            entry("realm", d.realm),
            "  </section>",
            '  <section name="sip">',
            entry("default_proxy", 0),
            entry("media_encryption", "srtp" if d.srtp else "none"),
            # The phone checks the PBX's certificate: a self-signed one is
            # trusted on the device once its fingerprint is checked (README).
            entry("media_encryption_mandatory", 0),
            entry("verify_server_certs", 1),
            entry("verify_server_cn", 1),
            "  </section>",
            '  <section name="rtp">',
            entry("audio_rtp_port", "7078"),
            "  </section>",
            "</config>",
            "",
        ]
    )


class ProvisioningLinks:
    """One-time links to a seat's provisioning file, kept in memory only."""

    def __init__(self, clock: Callable[[], float] = time.monotonic):
        self.clock = clock
        self._links: dict[str, tuple[str, str, float]] = {}

    def issue(self, seat: str, agent: str) -> str:
        now = self.clock()
        self._links = {t: v for t, v in self._links.items() if v[2] > now}
        token = secrets.token_urlsafe(24)
        self._links[token] = (seat, agent, now + LINK_SECONDS)
        return token

    def redeem(self, token: str) -> tuple[str, str] | None:
        """(seat, agent) the link was issued for, once; None when unknown,
        used or expired."""
        entry = self._links.pop(token, None)
        if entry is None or entry[2] <= self.clock():
            return None
        return entry[0], entry[1]
