"""Bronze: each raw source in its own Delta table, as delivered, plus _source_file, _ingested_at, _run_id."""
