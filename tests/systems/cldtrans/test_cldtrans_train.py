"""CLD-Trans training entry point on the bundled EEGMMIDB sample: both stages, every ablation, lags from a
checkpoint, bad input."""

import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
import torch

from biodyn.data_root import data_root
from biodyn.errors import ConfigError

ROOT = data_root()
needs_data = pytest.mark.skipif(
    ROOT is None or not (ROOT / "eegmmidb").exists(), reason="EEGMMIDB sample not under the data root"
)
SRC = str(Path(__file__).resolve().parents[2] / "src")


def _run(args, tmp):
    env = {**os.environ, "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", "")}
    out = subprocess.run(
        [sys.executable, "-m", "biodyn.cldtrans", *args, f"train.out_dir={tmp}"],
        capture_output=True,
        text=True,
        env=env,
        timeout=900,
    )
    assert out.returncode == 0, out.stderr[-3000:]
    return json.loads(out.stdout.strip().splitlines()[-1])


@needs_data
@pytest.mark.slow
@pytest.mark.timeout(600)
def test_both_stages_under_torchrun_on_two_gloo_ranks(tmp_path):
    """`torchrun -m biodyn.cldtrans` on two CPU ranks (gloo): each stage leaves parameters without a gradient
    (stage 1 the graph ODE and the task head), which DDP's reducer must be told about; rank 0 reports."""
    env = {
        **os.environ,
        "PYTHONPATH": SRC + os.pathsep + os.environ.get("PYTHONPATH", ""),
        "OMP_NUM_THREADS": "1",
    }
    for mode in ("stage1", "stage2"):
        cmd = [
            sys.executable,
            "-m",
            "torch.distributed.run",
            "--standalone",
            "--nproc_per_node",
            "2",
            "-m",
            "biodyn.cldtrans",
            f"mode={mode}",
            "train.max_steps=2",
            f"train.out_dir={tmp_path}",
        ]
        out = subprocess.run(cmd, capture_output=True, text=True, env=env, timeout=500)
        assert out.returncode == 0, out.stderr[-3000:]
        rows = [json.loads(line) for line in out.stdout.splitlines() if line.startswith("{")]
        assert len(rows) == 1 and rows[0]["mode"] == mode and rows[0]["step"] == 2  # rank 0 only
        res = json.loads((tmp_path / mode / "results.json").read_text())
        assert res["world_size"] == 2 and res["train_summary"]["step"] == 2
        assert (tmp_path / mode / "checkpoints" / "last" / "model.safetensors").is_file()


@needs_data
@pytest.mark.slow
def test_smoke_command_both_stages_and_lags_checkpoint(tmp_path):
    """The proposal's smoke command, then stage 2 from its checkpoint, then `biodyn lags --checkpoint`."""
    s1 = _run(["mode=stage1", "train.max_steps=1"], tmp_path)
    assert s1["step"] == 1 and {"loss_recon", "loss_vq_commit", "loss_ldsem_nll", "loss_l1"} <= set(s1)
    assert 0 < s1["codebook_usage"] <= 1 and s1["codebook_perplexity"] > 1
    s2 = _run(["mode=stage2", "train.max_steps=1"], tmp_path)
    assert s2["step"] == 1 and "loss_ode" in s2
    res = json.loads((tmp_path / "stage2" / "results.json").read_text())
    assert res["init_from"] and res["init_from"].endswith("last")
    # recording-specific graphs from the trained model
    from biodyn.io import read_recording
    from biodyn.systems.cldtrans import lags_from_checkpoint

    graphs = []
    for run in ("S001R01", "S001R04"):
        rec = read_recording(ROOT / "eegmmidb" / "S001" / f"{run}.edf")
        # after one step every |A| is still near its initial ~0: read all pairs (threshold 0)
        graphs.append(
            lags_from_checkpoint(rec.data[:, : 160 * 20], rec.fs, rec.channels, tmp_path, edge_threshold=0)
        )
    assert graphs[0].channels == graphs[1].channels and graphs[0].fs == 160.0
    assert not np.allclose(graphs[0].tau, graphs[1].tau)
    with pytest.raises(ConfigError, match="trained on eeg only"):  # a checkpoint of another modality
        leads = ["I", "II", "III", "aVR", "aVL", "aVF", "V1", "V2", "V3", "V4", "V5", "V6"]
        lags_from_checkpoint(np.random.default_rng(0).standard_normal((12, 5000)), 500.0, leads, tmp_path)
    # the command: `biodyn lags REC --checkpoint DIR` writes the model's graph for that recording
    from biodyn.cli import main

    edf = ROOT / "eegmmidb" / "S001" / "S001R04.edf"
    assert (
        main(["lags", str(edf), "--stop", "20", "--checkpoint", str(tmp_path), "--out", str(tmp_path / "lg")])
        == 0
    )
    out = json.loads((tmp_path / "lg" / "lag_graph.json").read_text())
    assert (
        out["checkpoint"] == str(tmp_path)
        and len(out["channels"]) == 64
        and (tmp_path / "lg" / "lag_graph.png").exists()
    )


@needs_data
@pytest.mark.slow
@pytest.mark.parametrize(
    ("mode", "ablation"),
    [
        ("stage1", "no_vq"),
        ("stage1", "no_lag"),
        ("stage1", "integer_lag"),
        ("stage2", "no_ode"),
        ("stage2", "none"),
    ],
)
def test_every_ablation_runs(tmp_path_factory, mode, ablation):
    from biodyn.systems.cldtrans import compose, run_cldtrans

    cache = tmp_path_factory.getbasetemp() / "cldtrans_cache"  # shared by the parametrisations
    out = tmp_path_factory.mktemp(ablation)
    run = compose(
        [
            f"mode={mode}",
            f"ablation={ablation}",
            "train.max_steps=1",
            f"train.out_dir={out}",
            f"data.cache_dir={cache}",
        ]
    )
    if mode == "stage2":  # each parametrisation has its own out_dir: stage 1 first (one step), then stage 2
        run_cldtrans(
            compose(
                [
                    "mode=stage1",
                    f"ablation={ablation}",
                    "train.max_steps=1",
                    f"train.out_dir={out}",
                    f"data.cache_dir={cache}",
                ]
            )
        )
    res = run_cldtrans(run)
    row = res["last_train_row"]
    assert res["ablation"] == ablation and res["train_summary"]["step"] == 1
    assert res.run_dir == out / mode and res.model.model_name == "cldtrans"  # the trained model, from Python
    assert np.isfinite(row["loss"])
    assert ("loss_vq_commit" in row) == (ablation != "no_vq")
    assert ("loss_ode" in row) == (mode == "stage2")
    cfg = res["config"]["model"]
    expect = {
        "no_vq": ("use_vq", False),
        "no_lag": ("lag_mode", "zero"),
        "integer_lag": ("lag_mode", "integer"),
        "no_ode": ("use_ode", False),
        "none": ("lag_mode", "continuous"),
    }[ablation]
    assert cfg[expect[0]] == expect[1]


def test_config_profiles_and_bad_keys():
    from biodyn.systems.cldtrans import compose

    gpu = compose(["profile=gpu"])
    assert gpu.effective_batch == 256 and gpu.train.max_steps == 60 * 7700
    assert gpu.data.corpora == ["eegmmidb", "mimic_ecg"] and gpu.model.codebook_size == 512
    cpu = compose([])
    assert cpu.data.corpora == ["eegmmidb"] and cpu.train.device == "cpu"
    with pytest.raises(ConfigError):
        compose(["model.nope=1"])
    with pytest.raises(ConfigError):
        compose(["ablation=nope"])


@pytest.mark.skipif(
    ROOT is None or not (ROOT / "ptbxl").exists(), reason="PTB-XL sample not under the data root"
)
def test_pretraining_on_ptbxl_training_folds_reads_records500(tmp_path):
    """ECG pretraining on PTB-XL (the stand-in for MIMIC-IV-ECG): `+data.splits.ptbxl=[train]` keeps folds
    1-8, so that the few-shot validation and test folds stay unseen, read from the 500 Hz copy; a cache
    folder shared with another selection yields only this run's records."""
    from biodyn.datasets import get_corpus
    from biodyn.systems.cldtrans.run import build_windows, compose

    common = ["data.corpora=[ptbxl]", f"data.cache_dir={tmp_path}", "data.limit=null"]
    train_ids = sorted(
        r.record_id for r in get_corpus("ptbxl", ROOT / "ptbxl", fs=500).records() if r.split == "train"
    )
    run = compose([*common, "+data.splits.ptbxl=[train]", "data.limit=3"])
    [(ds, modality, fs, name)] = build_windows(run)
    assert (modality, fs, name, ds.fs) == (1, 500.0, "ptbxl", 500.0)
    assert sorted({e["record_id"] for e in ds.entries}) == train_ids[:3]
    assert {e["split"] for e in ds.entries} == {"train"} and ds[0]["x"].shape == (12, 5000)
    manifest = json.loads((tmp_path / "ptbxl" / "manifest.json").read_text())
    assert manifest["preprocess"]["fs"] == 500.0
    [(val, *_)] = build_windows(compose([*common, "+data.splits.ptbxl=[val]", "data.limit=2"]))  # same folder
    assert {e["split"] for e in val.entries} == {"val"} and len({e["record_id"] for e in val.entries}) == 2
    with pytest.raises(ConfigError, match=r"no ptbxl record in split.*its records' splits: test, train, val"):
        build_windows(compose([*common, "+data.splits.ptbxl=[dev]"]))


def test_blocks_refuse_nan_windows_and_stay_in_one_modality():
    from biodyn.systems.cldtrans.run import ModalityBlocks

    class DS(torch.utils.data.Dataset):
        def __init__(self, c, t, bad=None):
            self.c, self.t, self.bad = c, t, bad

        def __len__(self):
            return 4

        def __getitem__(self, i):
            x = torch.randn(self.c, self.t)
            if i == self.bad:
                x[0, 0] = float("nan")
            return {"x": x, "meta": {"record_id": "r1", "start": i}}

    blocks = ModalityBlocks([(DS(4, 320), 0, 160.0, "eeg_set"), (DS(3, 1000), 1, 500.0, "ecg_set")], block=2)
    assert len(blocks) == 4
    shapes = {tuple(blocks[k]["x"].shape) for k in range(4)}
    assert shapes == {(2, 4, 320), (2, 3, 1000)}
    bad = ModalityBlocks([(DS(4, 320, bad=1), 0, 160.0, "eeg_set")], block=4)
    with pytest.raises(ConfigError, match="NaN/Inf in window 1"):
        bad[0]


@needs_data
@pytest.mark.slow
def test_biodyn_eval_on_both_stages(tmp_path):
    """`biodyn eval RUN` on a CLD-Trans stage folder: the objective's terms with the reloaded model, the same as
    the model in memory gives on the same blocks (stage 2 adds the graph-ODE term)."""
    from biodyn.cli import main
    from biodyn.models import from_pretrained
    from biodyn.systems.cldtrans import compose, run_cldtrans
    from biodyn.systems.cldtrans.run import ModalityBlocks, build_windows

    common = ["train.max_steps=1", f"train.out_dir={tmp_path}", "data.limit=1", "data.max_channels=4"]
    for mode in ("stage1", "stage2"):
        run = compose([f"mode={mode}", *common])
        run_cldtrans(run)
        assert main(["eval", str(tmp_path / mode), "--json", str(tmp_path / f"{mode}.json")]) == 0
        ev = json.loads((tmp_path / f"{mode}.json").read_text())
        assert ev["system"] == "cldtrans" and ev["mode"] == mode and ev["checkpoint"] == "last"
        assert ("loss_ode" in ev["metrics"]) == (mode == "stage2") and "loss_recon" in ev["metrics"]
        # an independent average over the blocks with the model of the checkpoint
        model = from_pretrained(tmp_path / mode)
        model.set_stage(mode)
        blocks = ModalityBlocks(build_windows(run), run.train.batch_size, seed=run.train.seed, max_channels=4)
        with torch.no_grad():
            recon = [float(model.forward_loss(blocks[k])["recon"]) for k in range(len(blocks))]
        assert ev["metrics"]["loss_recon"] == pytest.approx(float(np.mean(recon)), rel=1e-5)
