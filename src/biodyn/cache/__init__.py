"""Memory-mapped window caches: building them (resumable, sharded) and reading them in torch."""

from biodyn.cache.build import BuildReport, CacheError, build_cache, window_label
from biodyn.cache.dataset import WindowDataset, read_manifest
from biodyn.cache.samplers import BalancedSampler

__all__ = [
    "BalancedSampler",
    "BuildReport",
    "CacheError",
    "WindowDataset",
    "build_cache",
    "read_manifest",
    "window_label",
]
