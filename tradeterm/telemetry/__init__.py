"""Logging (JSON lines with correlation ids) and Prometheus metrics; both are bus subscribers."""
