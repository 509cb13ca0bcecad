"""The research systems, one package each (their recipes over the shared layers)."""
