"""Observability: the metrics the master gathers (book), their Prometheus exposition, the
rows of `yr list`, and the dashboard's web server (docs/observability.md)."""
