"""The PBX: the bundled Asterisk, its health, trunks and SIP security."""
