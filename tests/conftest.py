import os

import pytest
from hypothesis import settings

# Keep tests on few threads: CI has 2 cores and pytest-xdist runs two workers.
os.environ.setdefault("OMP_NUM_THREADS", "1")
os.environ.setdefault("MKL_NUM_THREADS", "1")

# Property tests: a derandomised profile in CI (the same examples every run, so a red build reproduces),
# random ones elsewhere. HYPOTHESIS_PROFILE=ci|dev overrides.
settings.register_profile("ci", derandomize=True, deadline=None, print_blob=True)
# explicit: a profile inherits the loaded one
settings.register_profile("dev", derandomize=False, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE") or ("ci" if os.environ.get("CI") else "dev"))


@pytest.fixture(autouse=True)
def _torch_threads():
    try:
        import torch
    except ImportError:  # pragma: no cover
        yield
        return
    torch.set_num_threads(1)
    yield


@pytest.fixture
def scratch_registry():
    """Models a test registers (examples, variants) do not outlive it."""
    from biodyn.models._registry import _ALIASES, _REGISTRY

    before, aliases = dict(_REGISTRY), dict(_ALIASES)
    yield
    _REGISTRY.clear()
    _REGISTRY.update(before)
    _ALIASES.clear()
    _ALIASES.update(aliases)
