"""The people who log in, administered."""
