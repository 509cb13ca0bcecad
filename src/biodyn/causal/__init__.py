"""Causal lag discovery: LD-SEM simulation, lag-graph metrics (fit and baselines: to come)."""
