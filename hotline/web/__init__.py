"""Web edge: auth, errors, pages."""
