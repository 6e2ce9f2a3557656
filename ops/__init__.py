"""Operational tables: what the runs did (files ingested, rule outcomes, model decisions, drift)."""
