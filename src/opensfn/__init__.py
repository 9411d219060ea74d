"""opensfn: an open, self-hosted AWS Step Functions."""

__version__ = "0.1.0"
