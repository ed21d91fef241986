"""Fleet triage: diagnose many hosts' evidence on a local pool or a Dask cluster, store one diagnosis per host
in SQLite or PostgreSQL, and group the findings into root causes across the fleet."""
