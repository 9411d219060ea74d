"""opensfn.api."""
