"""Seats: their state, their phones and credentials."""
