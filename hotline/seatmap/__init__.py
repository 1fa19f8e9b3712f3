"""The live seat map."""
