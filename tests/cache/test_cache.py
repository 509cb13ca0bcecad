import json
import multiprocessing as mp
import os
from pathlib import Path

import numpy as np
import pytest
import torch
from torch.utils.data import DataLoader

from biodyn.cache import BalancedSampler, CacheError, WindowDataset, build_cache
from biodyn.cli import main
from biodyn.datasets import Corpus, RecordRef, Target, get_corpus
from biodyn.signal import PreprocessConfig
from biodyn.types import Event, Recording

CFG = PreprocessConfig(fs=50.0, l_freq=1.0, h_freq=20.0, zscore=True, clip_sigma=10.0)


class Toy(Corpus):
    """Deterministic recordings at 100 Hz; record ``bad`` raises; ``die_on`` hard-kills the process."""

    name = "toy"
    modality = "eeg"
    classes = ("bckg", "seiz")
    default_preprocess = CFG
    window_s = 4.0
    stride_s = 2.0

    def __init__(self, n=6, bad=(), die_on=None):
        self.root = Path(".")
        self.n, self.bad, self.die_on = n, set(bad), die_on

    def records(self):
        return [
            RecordRef(
                f"r{i}",
                Path(f"toy/r{i}"),
                subject=f"p{i // 2}",
                split="train" if i < 4 else "dev",
                meta={"i": i},
            )
            for i in range(self.n)
        ]

    def load(self, ref):
        i = ref.meta["i"]
        if ref.record_id in self.bad:
            raise ValueError("cannot parse header")
        if ref.record_id == self.die_on:
            os._exit(9)  # a kill in the middle of a build: no cleanup runs
        rng = np.random.default_rng(i)
        x = rng.standard_normal((3, 100 * (20 + i))).astype(np.float32)
        return Recording(x, 100.0, ["Fp1", "Cz", "O1"], [Event(5.0, 3.0 + i, "seiz")])

    def target(self, ref, rec):
        y = np.zeros(rec.n_times, np.int64)
        for e in rec.events:
            y[int(e.onset_s * rec.fs) : int(e.offset_s * rec.fs)] = 1
        return Target(per_sample=y, classes=self.classes)


def _tree(d):
    return {p.relative_to(d).as_posix(): p.read_bytes() for p in sorted(d.rglob("*")) if p.is_file()}


def test_build_and_read_windows(tmp_path):
    rep = build_cache(Toy(), tmp_path, progress=False)
    assert len(rep.built) == 6 and not rep.failed
    ds = WindowDataset(tmp_path)
    # record i: 20 + i seconds at 50 Hz, windows of 200 samples every 100
    assert len(ds) == sum((50 * (20 + i) - 200) // 100 + 1 for i in range(6)) == rep.n_windows
    item = ds[3]
    assert item["x"].shape == (3, 200) and item["x"].dtype == torch.float32 and item["mask"].shape == (200,)
    # window 3 of r0 starts at 6 s, inside the 5-8 s event
    assert item["meta"] == {"record_id": "r0", "subject": "p0", "split": "train", "start": 300}
    assert int(item["y"]) == 1 and item["mask"][:100].all()
    # the stored data equals preprocessing the record directly
    from biodyn.signal import preprocess

    rec = Toy().load(Toy().records()[0])
    x, _ = preprocess(rec.data, rec.fs, CFG)
    np.testing.assert_array_equal(item["x"].numpy(), x[:, 300:500])
    assert len(WindowDataset(tmp_path, split="dev")) == sum((50 * (20 + i) - 200) // 100 + 1 for i in (4, 5))
    m = json.loads((tmp_path / "manifest.json").read_text())
    assert m["preprocess"]["fs"] == 50.0 and len(m["preprocess_hash"]) == 16


def test_bad_record_is_reported_and_skipped(tmp_path, capsys):
    rep = build_cache(Toy(bad={"r2"}), tmp_path, progress=False)
    assert list(rep.failed) == ["r2"] and "cannot parse header" in rep.failed["r2"] and not rep.all_failed
    assert json.loads((tmp_path / "failures.json").read_text()) == rep.failed
    assert "r2" not in {e["record_id"] for e in WindowDataset(tmp_path).entries}
    rep = build_cache(Toy(n=1, bad={"r0"}), tmp_path / "b", progress=False)
    assert rep.all_failed


def _killed_build(out):
    build_cache(Toy(die_on="r3"), out, progress=False)


def test_killed_build_resumes_to_the_same_result(tmp_path):
    clean = tmp_path / "clean"
    build_cache(Toy(), clean, progress=False)
    out = tmp_path / "resumed"
    p = mp.get_context("fork").Process(target=_killed_build, args=(out,))
    p.start()
    p.join()
    assert p.exitcode == 9
    done = sorted(f.name for f in (out / "records").glob("*.json"))
    assert done == ["r0.json", "r1.json", "r2.json"]
    rep = build_cache(Toy(), out, progress=False, jobs=2)
    assert rep.skipped == ["r0", "r1", "r2"] and sorted(rep.built) == ["r3", "r4", "r5"]
    a, b = _tree(clean), _tree(out)
    assert a.keys() == b.keys()
    for k in a:
        if k.endswith(".json") and k != "manifest.json":
            ea, eb = json.loads(a[k]), json.loads(b[k])
            assert ea == eb, k
        elif k.endswith(".npy"):
            assert a[k] == b[k], k


def test_other_config_in_same_folder_is_refused(tmp_path):
    build_cache(Toy(n=1), tmp_path, progress=False)
    with pytest.raises(CacheError, match="another configuration"):
        build_cache(Toy(n=1), tmp_path, window_s=8.0, progress=False)


def test_shards_union_equals_full_build(tmp_path):
    for i in range(3):
        build_cache(Toy(), tmp_path / f"s{i}", shard=(i, 3), progress=False)
    build_cache(Toy(), tmp_path / "full", progress=False)
    full = WindowDataset(tmp_path / "full")
    union = WindowDataset([tmp_path / f"s{i}" for i in range(3)])
    assert len(union) == len(full)
    np.testing.assert_array_equal(union.labels, full.labels)
    torch.testing.assert_close(union[7]["x"], full[7]["x"])


def test_dataloader_with_workers(tmp_path):
    build_cache(Toy(), tmp_path, progress=False)
    ds = WindowDataset(tmp_path)
    dl = DataLoader(ds, batch_size=8, num_workers=2, multiprocessing_context="fork")
    n = sum(len(b["x"]) for b in dl)
    assert n == len(ds)


def test_balanced_sampler_ratio_ranks_and_resume():
    labels = np.array([1] * 30 + [0] * 970)
    s = BalancedSampler(labels, positive_ratio=0.34, seed=3)
    idx = np.array(list(s))
    assert len(idx) == 1000 and abs(labels[idx].mean() - 0.34) < 1e-9
    assert s.epoch == 1
    r0 = BalancedSampler(labels, seed=3, rank=0, world_size=2)
    r1 = BalancedSampler(labels, seed=3, rank=1, world_size=2)
    s.set_epoch(0)
    full = list(s)
    a, b = list(r0), list(r1)
    assert len(a) == len(b) == 500 and sorted(a + b) == sorted(full)
    s2 = BalancedSampler(labels, seed=3)
    it = iter(s2)
    first = [next(it) for _ in range(100)]
    state = s2.state_dict()
    s3 = BalancedSampler(labels, seed=3)
    s3.load_state_dict(state)
    assert first + list(s3) == full


def test_build_cache_cli_and_synthetic(tmp_path, capsys):
    code = main(
        [
            "build-cache",
            "synthetic",
            "--out",
            str(tmp_path),
            "--jobs",
            "2",
            "--json",
            str(tmp_path / "r.json"),
        ]
    )
    assert code == 0
    rep = json.loads((tmp_path / "r.json").read_text())
    assert len(rep["built"]) == 4 and rep["n_windows"] > 0
    ds = WindowDataset(tmp_path)
    assert ds.n_channels == 19 and ds.fs == 256.0 and ds[0]["x"].shape == (19, 256 * 60)
    assert 0 < ds.labels.mean() < 1
    assert get_corpus("synthetic").records()[0].record_id in {e["record_id"] for e in ds.entries}


def test_ptbxl_sample_cache(tmp_path):
    from biodyn.testing import shared_data

    corpus = get_corpus("ptbxl", shared_data("ptbxl"))
    ids = [r.record_id for r in corpus.records()[:12]]
    rep = build_cache(corpus, tmp_path, records=ids, jobs=2, progress=False)
    assert sorted(rep.built) == ids
    ds = WindowDataset(tmp_path)
    assert len(ds) == 12 and ds.fs == 500.0  # CLD-Trans ECG preprocessing: 500 Hz, one 10 s window
    item = ds[0]
    assert item["x"].shape == (12, 5000) and item["y"].tolist() == [1, 0, 0, 0, 0] and "mask" not in item
    # the same folder for the records500/ copy: other source data, so the build is refused, not mixed in
    hr = get_corpus("ptbxl", shared_data("ptbxl"), fs=500)
    assert hr.sampling_rate == 500
    with pytest.raises(CacheError, match="another configuration"):
        build_cache(hr, tmp_path, records=[hr.records()[0].record_id], progress=False)
