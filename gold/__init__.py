"""Gold: customer features, segments and acceptance scores that marketing targets from."""
