"""opensfn.client."""
