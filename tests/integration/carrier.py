"""A carrier for the trunk tests: a second bundled Asterisk on another
loopback address, speaking SIP to the hotline the way an operator's gateway
does. Mode "register": the hotline registers to it with an account and it
delivers calls to that registration. Mode "address": no registration; each
side knows the other by address.

Its own dialplan: calls from the hotline are answered and their number and
caller ID reported in a UserEvent (CarrierGot); calls to the hotline are
originated over AMI with the citizen's number as caller ID, sent in
P-Asserted-Identity while From shows the gateway.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from functools import cached_property
from pathlib import Path

from hotline.config import Settings
from hotline.pbx.process import Pbx
from hotline.pbx.render import SHIPPED_TEMPLATES
from tests.conftest import make_settings


def _pjsip(order: str, endpoint_extra: str, rest: str) -> str:
    """The carrier's pjsip.conf: its transport, the hotline as its customer."""
    return f"""
[global]
type = global
endpoint_identifier_order = {order}

[transport-udp]
type = transport
protocol = udp
bind = {{address}}:{{port}}

[{{account}}]
type = endpoint
context = carrier-in
disallow = all
allow = alaw
dtmf_mode = rfc4733
trust_id_inbound = yes
send_pai = yes
from_user = carrier-gw
aors = {{account}}
{endpoint_extra}
{rest}"""


# The hotline registers with an account; calls go to its registration.
PJSIP_REGISTER = _pjsip(
    "username,ip",
    "auth = {account}",
    """
[{account}]
type = auth
auth_type = userpass
username = {account}
password = {password}

[{account}]
type = aor
max_contacts = 1
remove_existing = yes
""",
)

# No registration: each side knows the other by address.
PJSIP_ADDRESS = _pjsip(
    "ip,username",
    "",
    """
[{account}]
type = aor
contact = sip:{hotline_address}:{hotline_port}

[{account}-identify]
type = identify
endpoint = {account}
match = {hotline_address}
""",
)

EXTENSIONS = """
[general]
static = yes
writeprotect = yes

; The public network as the hotline reaches it: every number answers.
[carrier-in]
exten => _X.,1,UserEvent(CarrierGot,Number: ${{EXTEN}},CallerID: ${{CALLERID(num)}})
 same => n,Answer()
 same => n,Wait(3600)
 same => n,Hangup()

; A citizen's phone: picks up and stays on the line.
[carrier-caller]
exten => s,1,Answer()
 same => n,Wait(3600)
 same => n,Hangup()
"""


@dataclass
class Carrier:
    name: str
    settings: Settings
    address: str
    account: str
    password: str

    @cached_property
    def pbx(self) -> Pbx:
        return Pbx(self.settings)  # one object: it reaps the supervisor it started

    def start(self) -> None:
        self.pbx.start()

    def stop(self) -> None:
        self.pbx.stop()


def make_carrier(
    tmp: Path, hotline: Settings, *, name: str, address: str, offset: int, mode: str, password: str = ""
) -> Carrier:
    """A carrier on `address`, its ports `offset` above the hotline's."""
    port = hotline.pbx.sip_port + offset
    settings = make_settings(
        tmp,
        ami={"port": hotline.ami.port + offset},
        agi={"port": hotline.agi.port + offset},
        pbx={
            "sip_host": address,
            "sip_port": port,
            "sip_tls_port": hotline.pbx.sip_tls_port + offset,
            "http_port": hotline.pbx.http_port + offset,
            "rtp_start": hotline.pbx.rtp_start + 100 * offset,
            "rtp_end": hotline.pbx.rtp_start + 100 * offset + 99,
            "templates": str(tmp / "templates"),
        },
        seats={"count": 1},
    )
    templates = tmp / "templates"
    templates.mkdir(parents=True, exist_ok=True)
    for conf in SHIPPED_TEMPLATES.glob("*.conf"):
        shutil.copy(conf, templates / conf.name)
    account = f"hotline-{name}"
    values = {
        "address": address,
        "port": port,
        "account": account,
        "password": password,
        "hotline_address": hotline.pbx.sip_host,
        "hotline_port": hotline.pbx.sip_port,
    }
    pjsip = PJSIP_REGISTER if mode == "register" else PJSIP_ADDRESS
    (templates / "pjsip.conf").write_text(pjsip.format(**values))
    (templates / "extensions.conf").write_text(EXTENSIONS.format())
    # The carrier runs no queue, IVR or controller: their files stay empty.
    for conf in ("queues.conf", "pjsip_hotline_blocked.conf"):
        (templates / conf).write_text("")
    return Carrier(name, settings, address, account, password)
