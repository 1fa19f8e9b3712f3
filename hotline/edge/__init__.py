"""The SIP edge: Kamailio in front of the Asterisk nodes (DESIGN.md, "Past one machine")."""
