"""The CLD-Trans tokenizer benchmark trains stage 1 on the bundled EEG sample and reports its goals."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from biodyn.testing import shared_data

SCRIPT = Path(__file__).resolve().parents[2] / "benchmarks" / "bench_cldtrans_tokenizer.py"


@pytest.mark.slow
@pytest.mark.timeout(400)
def test_quick_run_reports_each_case_and_the_goals(tmp_path):
    root = shared_data("eegmmidb").parent
    out = tmp_path / "tok.json"
    env = {**os.environ, "BIODYN_DATA_ROOT": str(root)}
    proc = subprocess.run(
        [sys.executable, str(SCRIPT), "--quick", "--json", str(out)],
        capture_output=True,
        text=True,
        env=env,
        timeout=380,
    )
    assert proc.returncode == 0, proc.stderr[-2000:]
    res = json.loads(out.read_text())
    assert [(r["ldsem_latent_grad"], r["vq_decay"]) for r in res["rows"]] == [(1.0, 0.8), (0.1, 0.8)]
    for r in res["rows"]:
        assert r["steps"] == 20 and 0 < r["recon_last10"] and 0 < r["codebook_usage"] <= 1
        assert r["recon_last_over_first"] == pytest.approx(r["recon_last10"] / r["recon_first10"])
    assert set(res["goals"]) == {"recon_last_over_first_at_defaults", "codebook_usage_at_defaults"}
