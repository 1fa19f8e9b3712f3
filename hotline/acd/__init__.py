"""Queueing: lines, standby, membership, callbacks, figures."""
