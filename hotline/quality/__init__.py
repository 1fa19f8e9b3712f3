"""Quality inspection (质检): automatic checks on every answered call."""
