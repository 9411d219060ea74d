"""opensfn.store."""
