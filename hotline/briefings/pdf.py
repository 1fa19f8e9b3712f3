"""HTML on stdin -> PDF on stdout, in a child process.

WeasyPrint lays the page's own HTML and CSS out with Pango and HarfBuzz, so
the distribution's Noto CJK fonts (found through fontconfig) set the Chinese
and the inline SVG charts come out as drawn on screen: one template for both.
ReportLab cannot embed Noto CJK (CFF outlines) and would need the layout
written a second time in code; a headless browser would make the service
depend on Chromium. WeasyPrint takes about 60 MB and a second or two, which
is why it runs here and not in the controller.
"""

from __future__ import annotations

import sys
from typing import Any, NoReturn


def _no_fetch(url: str, *args: Any, **kwargs: Any) -> NoReturn:
    # A briefing is self-contained: nothing it holds may make the renderer fetch.
    raise ValueError(f"briefings load nothing from outside ({url[:60]})")


def main() -> None:
    import logging

    import weasyprint

    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    source = sys.stdin.buffer.read().decode("utf-8")
    pdf = weasyprint.HTML(string=source, url_fetcher=_no_fetch).write_pdf()
    sys.stdout.buffer.write(pdf)


if __name__ == "__main__":
    main()
