"""Tickets (工单): the store, the hand-off of answered calls, the workflow."""
