"""Call recordings: made by Asterisk (MixMonitor), indexed on tickets, served and purged here."""
