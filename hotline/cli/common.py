"""What every command shares: the configuration, and when to become the
service user."""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from hotline.config import Settings
from hotline.configfile import from_snapshot, load
from hotline.privileges import drop_privileges


def settings_of(args: argparse.Namespace, *, as_service: bool = True) -> Settings:
    """The configuration; unless told otherwise, root becomes the service user here."""
    snapshot = os.environ.get("HOTLINE_SETTINGS_FILE")
    if snapshot:
        # The PBX supervisor runs with exactly the settings its parent had.
        settings = from_snapshot(Path(snapshot).read_text())
    else:
        settings = load(args.config)
    if as_service:
        drop_privileges(settings)
    return settings
