"""Silver: typed, conformed, checked and deduplicated (latest version per key) Delta tables."""
