"""A CI-sized subset of ``tools/probe_edges.py`` (the bad-input probe of issue 40; the whole probe, ~200 real
subprocesses, writes ``tests/faults/PROBE.md``): one or two cases of each class, run exactly as the tool runs
them (``python -m biodyn ...`` in a subprocess from an empty working folder; one ``biodyn: error:`` line, the
documented exit code, nothing changed outside the target)."""

from __future__ import annotations

import importlib.util
import sys
from pathlib import Path

import pytest

TOOL = Path(__file__).resolve().parents[2] / "tools" / "probe_edges.py"
SUBSET = [
    "prism-resume-other-modality",  # data lost
    "detect-duplicate-names",  # data lost
    "fewshot-bad-budget",  # written outside the target
    "szcore-threshold-2",  # bad input accepted
    "detect-edf-plus-d-gap",  # bad input accepted (EDF+D)
    "cldtrans-max-steps-0",  # validated too late
    "prism-config-bad-yaml",  # traceback
    "report-not-utf8",  # traceback
    "prism-empty-data",  # exit code
    "detect-one-file-fails",  # exit code, the good recording's outputs written
    "lags-slow-recording",  # rough message
    "prism-read-only-sys",  # read-only target, also as root
    "cldtrans-module-read-only-sys",  # read-only target, the module entry point
]


def _tool():
    spec = importlib.util.spec_from_file_location("probe_edges", TOOL)
    mod = importlib.util.module_from_spec(spec)
    sys.modules["probe_edges"] = mod
    spec.loader.exec_module(mod)
    return mod


@pytest.fixture(scope="module")
def probe(tmp_path_factory):
    tool = _tool()
    t = tmp_path_factory.mktemp("probe")
    have = tool.build_fixture(t, smoke=False)
    return tool, t, have


def test_subset_names_cases_of_the_tool():
    ids = {c.id for c in _tool().cases()}
    assert set(SUBSET) <= ids, set(SUBSET) - ids
    assert len(ids) >= 150  # the whole probe


@pytest.mark.slow
@pytest.mark.parametrize("case", SUBSET)
def test_probe_case(probe, case):
    tool, t, have = probe
    if case.endswith("-sys") and not Path("/sys").is_dir():
        pytest.skip("no /sys on this system")
    (c,) = [c for c in tool.cases() if c.id == case]
    r = tool.run_case(c, t, have, timeout=300)
    assert r.status == "pass", (r.why, r.line, r.argv)
