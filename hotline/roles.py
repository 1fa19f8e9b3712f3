"""Who someone is to the hotline. The domain (tickets, recordings, accounts)
decides by role; the web layer only carries it."""

from __future__ import annotations

import enum


class Role(str, enum.Enum):
    PUBLIC = "public"
    AGENT = "agent"
    LEAD = "lead"
    ADMIN = "admin"
    DEPARTMENT = "department"
    # An agent who takes only legal calls (律师坐席): the lawyer queue, lawyers' work items.
    LAWYER = "lawyer"
    # A community grid worker (网格员): the station's tickets, patrol reports.
    GRID = "grid"
    # A city leader (领导): reads briefings only, with nothing personal in them.
    LEADER = "leader"
    METRICS = "metrics"  # a Prometheus scraper with the bearer token from the secrets file
    GATEWAY = "gateway"  # a web/WeChat/SMS/app/110 gateway with its channel's bearer token


# Everyone who logs in with a password: each may see who they are, change
# their password and log out, whatever else they may do.
PEOPLE = (Role.AGENT, Role.LEAD, Role.ADMIN, Role.DEPARTMENT, Role.LAWYER, Role.GRID, Role.LEADER)
