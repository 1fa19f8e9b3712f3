"""出门找活: a problem a grid worker finds on patrol becomes a ticket
(channel grid), classified and dispatched by an agent like any other."""

from __future__ import annotations

from typing import Any

from hotline.identity import Identity
from hotline.tickets.read_models import TicketView
from hotline.tickets.store import TicketStore


async def file_report(store: TicketStore, who: Identity, body: dict[str, Any]) -> TicketView:
    unit = store.tree.units.by_code.get(who.department)
    form: dict[str, Any] = {k: body.get(k, "") for k in ("content", "address", "category")}
    if unit is not None and not body.get("district"):
        form["district"] = unit.district
    elif "district" in body:
        form["district"] = body["district"]
    classified = bool(form.get("category"))
    if not classified:
        form.pop("category")
    found = await store.suspects(form)
    async with store.tx() as db:
        t = await store.insert(
            db,
            "grid",
            who.username,
            form,
            classified=classified,
            suspects=found,
            note=f"网格员上报（{unit.station if unit else who.department}）",
        )
        return store.views.row(t)
