"""The AMI edge: connection, typed events, resync, FastAGI."""
