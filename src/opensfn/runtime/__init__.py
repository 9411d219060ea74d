"""opensfn.runtime."""
