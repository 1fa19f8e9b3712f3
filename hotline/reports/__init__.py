"""Reports built from the hotline's own records: the GB/T 33358 standards report."""
