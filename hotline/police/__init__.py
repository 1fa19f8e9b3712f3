"""The link with the police's 110 centre: matters handed over both ways."""
