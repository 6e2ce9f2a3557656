"""Thin spark-submit entry points, one per stage, plus one that runs them all, and the `lakehouse` CLI."""
