"""District -> street -> community, and which community owns an address
(属地优先). Pure: built from the configuration, asked by the ticket store
when a ticket is dispatched and by the desk while an address is typed."""

from __future__ import annotations

from dataclasses import dataclass

from hotline.config import Department, TicketSettings


@dataclass(frozen=True, slots=True)
class Unit:
    code: str  # the station's code: where its tickets go (tickets.department)
    station: str  # 幸福社区网格站
    community: str
    street: str
    district: str
    addresses: tuple[str, ...]

    @property
    def path(self) -> str:
        return f"{self.district} / {self.street} / {self.community}"


class Units:
    def __init__(self, settings: TicketSettings):
        self.by_code = {
            c.code: Unit(c.code, c.station, c.name, s.name, s.district, tuple(a for a in c.addresses if a))
            for s in settings.streets
            for c in s.communities
        }

    def stations(self) -> list[Department]:
        """Grid stations as the ticket workflow sees them: units to dispatch to."""
        return [Department(code=u.code, name=u.station) for u in self.by_code.values()]

    def locate(self, address: str, district: str = "") -> Unit | None:
        """The community owning the address: the longest matching name wins
        (和平东路 before 和平路), within the district when one is given."""
        best: tuple[int, Unit] | None = None
        for u in self.by_code.values():
            if district and u.district != district:
                continue
            for a in u.addresses:
                if a in address and (best is None or len(a) > best[0]):
                    best = (len(a), u)
        return best[1] if best else None

    def place_names(self) -> set[str]:
        """Roads, compounds, communities and streets: words a segmenter keeps whole."""
        return {n for u in self.by_code.values() for n in (*u.addresses, u.community, u.street)}

    def as_json(self) -> list[dict[str, object]]:
        return [
            {
                "code": u.code,
                "station": u.station,
                "path": u.path,
                "district": u.district,
                "addresses": list(u.addresses),
            }
            for u in self.by_code.values()
        ]
