"""A briefing's contents to HTML (the page, and the PDF's source)."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import jinja2

_ENV = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=True,
    undefined=jinja2.StrictUndefined,
    trim_blocks=False,
)


def html(briefing: dict[str, Any], *, links: bool, nav: bool) -> str:
    """links: ticket numbers open the ticket (for who may read tickets);
    nav: the page's links to the archive and the PDF (not in the PDF)."""
    return _ENV.get_template("briefing.html").render(b=briefing, links=links, nav=nav)
