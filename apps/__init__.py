"""What people and other systems use: the scoring API (`lakehouse serve`)."""
