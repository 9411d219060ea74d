"""opensfn benchmarks: ``python bench/run.py [--quick]`` runs them all."""
