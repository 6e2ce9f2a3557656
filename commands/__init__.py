"""The `lakehouse` command: what people type, as opposed to the scheduled jobs it runs."""
