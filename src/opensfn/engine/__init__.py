"""The interpreter: pure and deterministic. See ``engine.protocol`` for its contract."""
