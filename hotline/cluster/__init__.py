"""Several controllers on one PostgreSQL: who leads, and decisions made once."""
