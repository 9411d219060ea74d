"""opensfn.asl."""
