"""The IVR: flows, their interpreter, prompts."""
