"""Few-shot grid: patient-disjoint splits, every cell written, resumable, the report renders it; the
Sleep-EDF reader on generated PSG + hypnogram files."""

import json

import numpy as np
import pytest

from biodyn.cache.views import ArrayWindows, patient_split
from biodyn.data_root import data_root
from biodyn.errors import ConfigError
from biodyn.systems.cldtrans import fewshot_grid as fg

ROOT = data_root()
TINY = {"eeg_gcnn": {"gcn_hidden": [8], "fc_hidden": [8]}, "biot": {"emb_size": 16, "heads": 2, "depth": 1}}
TRAIN = {"max_steps": 3, "eval_every": 3, "ckpt_every": 3, "warmup_steps": 1, "batch_size": 4}


def test_patient_split_is_disjoint_and_checked():
    part = patient_split([f"p{k}" for k in range(10)] * 3)
    assert [len(part[k]) for k in ("train", "val", "test")] == [6, 2, 2]
    assert not set(part["train"]) & set(part["test"])
    with pytest.raises(ConfigError, match=">= 3 subjects"):
        patient_split(["a", "b"])


@pytest.mark.slow
@pytest.mark.skipif(
    ROOT is None or not (ROOT / "chbmit" / "npy_excerpts").is_dir(), reason="no CHB-MIT sample"
)
def test_window_budgets_bite_on_the_excerpts_one_training_patient(tmp_path):
    """Regression: on the excerpts every budget kept the one training patient, so 1 / 10 / 100 % were one
    cell three times; the cpu preset's window budget over 4 s windows keeps 1 / 3 / 28 per class."""
    cpu = fg.compose(["preset=cpu"])
    preset = {k: getattr(cpu, k) for k in ("sources", "window_s", "stride_s", "budget_unit", "preprocess")}
    grid = fg.GridConfig(
        datasets=("chbmit",),
        models=("eeg_gcnn",),
        budgets=(0.01, 0.1, 1.0),
        seeds=(42,),
        modes=("linear_probe",),
        model_params=TINY,
        train={**TRAIN, "max_steps": 1},
        cache_dir=str(tmp_path / "c"),
        **preset,
    )
    cells = [json.loads(p.read_text()) for p in fg.run_grid(grid, tmp_path / "res", progress=False)]
    assert [c["n_train_windows"] for c in cells] == [2, 6, 56]
    assert all(c["budget_unit"] == "window" and c["split_subjects"] is None for c in cells)


def _write_sleep(root, n_subjects=3, epochs=8, fs=50.0):
    from biodyn.io.edf import write_edf
    from biodyn.types import Event, Recording

    rng = np.random.default_rng(0)
    stages = ["Sleep stage W", "Sleep stage 1", "Sleep stage 2", "Sleep stage 3", "Sleep stage R"]
    for s in range(n_subjects):
        key = f"SC40{s}1"
        n = int((epochs + 1) * 30 * fs)  # the last epoch is scored '?'

        lab = [k % 5 for k in range(epochs)]
        x = rng.standard_normal((2, n)).astype(np.float32)
        for e, k in enumerate(lab):  # a stage-dependent rhythm so that something is learnable
            t = np.arange(int(30 * fs)) / fs
            x[:, int(e * 30 * fs) : int((e + 1) * 30 * fs)] += 2 * np.sin(2 * np.pi * (1 + 2 * k) * t)
        write_edf(root / f"{key}E0-PSG.edf", Recording(x, fs, ["EEG Fpz-Cz", "EEG Pz-Oz"]), annotations=False)
        events = [Event(30.0 * e, 30.0, stages[k]) for e, k in enumerate(lab)]
        events.append(Event(30.0 * epochs, 30.0, "Sleep stage ?"))
        hyp = Recording(
            np.zeros((1, int((epochs + 1) * 30)), np.float32), 1.0, ["Event marker"], events=events
        )
        write_edf(root / f"{key}EC-Hypnogram.edf", hyp)


@pytest.mark.slow
def test_sleepedf_reader_and_grid_on_generated_psg(tmp_path):
    data = tmp_path / "sleep"
    data.mkdir()
    _write_sleep(data)
    from biodyn.datasets.sleepedf import SleepEDF

    corpus = SleepEDF(data)
    refs = corpus.records()
    assert [r.subject for r in refs] == ["SC00", "SC01", "SC02"]
    rec = corpus.load(refs[0])
    y = corpus.target(refs[0], rec).per_sample
    assert rec.channels == ["Fpz-Cz", "Pz-Oz"] and set(np.unique(y)) == {-1, 0, 1, 2, 3, 4}
    grid = fg.GridConfig(
        datasets=("sleepedf",),
        models=("eeg_gcnn",),
        budgets=(1.0,),
        seeds=(42,),
        modes=("finetune",),
        model_params=TINY,
        train=TRAIN,
        roots={"sleepedf": str(data)},
        cache_dir=str(tmp_path / "c"),
        preprocess={"sleepedf": {"fs": 50.0, "h_freq": 20.0}},
    )
    (path,) = fg.run_grid(grid, tmp_path / "res", progress=False)
    r = json.loads(path.read_text())
    assert {"test_macro_f1", "test_cohen_kappa"} <= set(r["metrics"])
    assert r["split_subjects"] == {"train": ["SC00"], "val": ["SC01"], "test": ["SC02"]}
    assert r["n_train_windows"] == 8  # the unlabelled '?' epoch is dropped


@pytest.mark.slow
@pytest.mark.skipif(
    ROOT is None or not (ROOT / "ptbxl").is_dir() or not (ROOT / "chbmit" / "npy_excerpts").is_dir(),
    reason="no PTB-XL / CHB-MIT sample data",
)
def test_grid_on_bundled_ptbxl_and_chbmit_resumes_and_reports(tmp_path):
    grid = fg.GridConfig(
        datasets=("chbmit", "ptbxl"),
        models=("eeg_gcnn",),
        budgets=(0.1, 1.0),
        seeds=(42, 7),
        modes=("linear_probe", "finetune"),
        model_params=TINY,
        train=TRAIN,
        sources={"chbmit": "excerpts"},
        cache_dir=str(tmp_path / "c"),
        limit={"ptbxl": 80},
        preprocess={"chbmit": {"fs": 64.0}, "ptbxl": {"fs": 50.0, "h_freq": 20.0}},
    )
    paths = fg.run_grid(grid, tmp_path / "res", progress=False)
    assert len(paths) == 2 * 2 * 2 * 2 and all(p.exists() for p in paths)
    chb = json.loads((tmp_path / "res/fewshot/eeg_gcnn/chbmit-finetune/100pct/seed42.json").read_text())
    assert {"test_auroc", "test_auprc"} <= set(chb["metrics"]) and chb["mode"] == "finetune"
    assert chb["n_train_windows"] == 14 and chb["budget_unit"] == "subject"  # one training patient
    ptb = json.loads((tmp_path / "res/fewshot/eeg_gcnn/ptbxl-linear_probe/10pct/seed7.json").read_text())
    assert "test_macro_auroc" in ptb["metrics"] and ptb["n_train_windows"] < 80 and ptb["stored_fs"] is None
    stamps = [p.stat().st_mtime_ns for p in paths]
    assert [p.stat().st_mtime_ns for p in fg.run_grid(grid, tmp_path / "res", progress=False)] == stamps
    from biodyn.report import make_report

    rep = make_report(tmp_path / "res", seeds=[42, 7])
    text = open(rep["report"]).read()
    assert (
        "chbmit-finetune" in text
        and "test_macro_auroc" in text
        and open(rep["latex"]).read().count("tabular") >= 2
    )


@pytest.mark.skipif(
    ROOT is None or not (ROOT / "chbmit" / "npy_excerpts").is_dir(), reason="no CHB-MIT sample"
)
def test_excerpt_windows_cut_every_clip_and_keep_patients_apart():
    folder = ROOT / "chbmit" / "npy_excerpts"
    whole = fg.excerpt_data(folder, 64.0)
    cut = fg.excerpt_data(folder, 64.0, zscore=True, window_s=4.0, stride_s=2.0)
    n_clips, n = len(whole["train"]), whole["train"].x.shape[-1]
    per_clip = (n - 256) // 128 + 1  # 4 s windows every 2 s of each clip
    assert len(cut["train"]) == per_clip * n_clips and cut["train"].x.shape[-1] == 256
    assert (
        np.bincount(cut["train"].labels).tolist() == (per_clip * np.bincount(whole["train"].labels)).tolist()
    )
    assert set(cut["train"].subjects) & set(cut["test"].subjects) == set()
    assert cut["manifest_hash"] != whole["manifest_hash"]
    w = cut["train"].x[0].numpy()  # z-scored per window and channel
    assert np.allclose(w.mean(-1), 0, atol=1e-4) and np.allclose(w.std(-1), 1, atol=1e-3)
    # the window after the first starts 2 s later in the same clip
    raw = fg.excerpt_data(folder, 64.0, window_s=4.0, stride_s=2.0)["train"].x
    assert np.allclose(raw[1, :, :128].numpy(), raw[0, :, 128:].numpy())
    with pytest.raises(ConfigError, match="shortest excerpt"):
        fg.excerpt_data(folder, 64.0, window_s=60.0)


def _write_excerpts(folder, cases=("chb01", "chb03", "chb21")):
    rng = np.random.default_rng(0)
    for case in cases:
        for kind, tag in (("ictal", "ictal"), ("preictal_10s", "preictal10s")):
            (folder / case / kind).mkdir(parents=True, exist_ok=True)
            np.save(folder / case / kind / f"{case}_01_{tag}.npy", rng.standard_normal((23, 2561)))


def test_excerpt_patients_follow_chbmit_subjects(tmp_path):
    """Regression: excerpt_data took the case folder as the patient, so chb21 (chb01's patient, recorded
    later) was the test patient while chb01 trained: one person on both sides."""
    _write_excerpts(tmp_path)
    data = fg.excerpt_data(tmp_path, 64.0)
    assert sorted(set(data["train"].subjects)) == ["chb01"] and set(data["test"].subjects) == {"chb03"}
    assert len(data["train"]) == 4  # chb01's and chb21's clips


def _windows(n_subjects, per_subject=20, seizure_every=10, fs=64.0):
    rng = np.random.default_rng(0)
    n = n_subjects * per_subject
    labels = (np.arange(n) % seizure_every == 0).astype(np.int64)  # mostly background: one stratum
    subjects = np.repeat([f"chb{k:02d}" for k in range(1, n_subjects + 1)], per_subject)
    return ArrayWindows(rng.standard_normal((n, 2, 128)), labels, subjects, fs)


def test_full_preset_budgets_do_not_coincide_on_chbmit():
    """Regression: the full preset counted CHB-MIT's budgets in patients; with ~14 training patients in one
    stratum max(1, round(0.01 * 14)) = max(1, round(0.1 * 14)) = 1, so 1 % and 10 % kept the same patient for
    every seed. It counts windows now (and Sleep-EDF's), which keep 1 % and 10 % apart."""
    full = fg.compose(["preset=full"])
    assert full.budget_unit == {"chbmit": "window", "sleepedf": "window"}
    data = {"train": _windows(14)}
    seeds = (42, 123, 7, 0, 256)
    same = fg.same_training_sets(data, (0.01, 0.1, 1.0), seeds, "subject")
    assert {k: v for k, v in same.items() if k[0] == 0.01} == {(0.01, s): ["10pct"] for s in seeds}
    assert fg.same_training_sets(data, (0.01, 0.1, 1.0), seeds, full.budget_unit["chbmit"]) == {}


def test_grid_records_budgets_with_the_same_training_set(tmp_path, monkeypatch, capsys):
    """Regression: two budgets drawing the identical training windows (3 training patients, one stratum:
    one patient at 1 % as at 10 %) were written as two measurements; now each cell names the other, one
    warning line says so, and the report marks the cells."""
    data = {"train": _windows(3), "val": _windows(1), "test": _windows(1), "manifest_hash": "x"}
    monkeypatch.setattr(fg, "load_dataset", lambda *a, **k: data)
    grid = fg.GridConfig(
        datasets=("chbmit",),
        models=("eeg_gcnn",),
        budgets=(0.01, 0.1, 1.0),
        seeds=(42,),
        modes=("linear_probe",),
        model_params=TINY,
        train={**TRAIN, "max_steps": 1},
        cache_dir=str(tmp_path / "c"),
    )
    cells = {
        p.parent.name: json.loads(p.read_text()) for p in fg.run_grid(grid, tmp_path / "r", progress=False)
    }
    assert {k: c["same_training_set_as"] for k, c in cells.items()} == {
        "1pct": ["10pct"],
        "10pct": ["1pct"],
        "100pct": [],
    }
    warned = [
        line for line in capsys.readouterr().err.splitlines() if line.startswith("biodyn: warning: chbmit")
    ]
    assert len(warned) == 1 and "1pct = 10pct for seed 42" in warned[0]
    from biodyn.report import make_report

    text = open(make_report(tmp_path / "r", seeds=[42])["report"]).read()
    assert text.count("(same training set as 10pct)") >= 1 and text.count("(same training set as 1pct)") >= 1
    row = next(line for line in text.splitlines() if "chbmit-linear_probe" in line)
    assert row.split("|")[-2].strip().count("same training set") == 0  # 100pct: a measurement of its own


def test_budget_unit_flag_is_checked():
    from biodyn.cli import main

    with pytest.raises(ConfigError, match="DATASET=UNIT"):
        main(["fewshot", "--budget-unit", "window", "--debug"])
    with pytest.raises(ConfigError, match="record"):
        main(["fewshot", "--budget-unit", "chbmit=record", "--debug"])


def test_unknown_model_is_named():
    with pytest.raises(ConfigError, match="nope"):
        fg.run_grid(fg.GridConfig(models=("nope",)), "/tmp/unused")


TINY_CLDTRANS = {
    "modalities": ["eeg"],
    "modality_fs": [160.0],
    "latent_dim": 8,
    "hidden": 8,
    "lag_hidden": 8,
    "lag_embed_dim": 4,
    "ode_hidden": 8,
    "codebook_size": 16,
}


@pytest.mark.slow
@pytest.mark.skipif(
    ROOT is None or not (ROOT / "chbmit" / "npy_excerpts").is_dir(), reason="no CHB-MIT sample"
)
def test_pretrained_cldtrans_encoder_is_probed_on_labels_at_its_rate(tmp_path):
    """Regression: CLD-Trans in the grid trained its pretraining terms instead of the labels (a linear probe
    then had nothing to train and failed), was built fresh instead of from its stage-1 encoder, and
    refused the 64 Hz CPU-preset windows; ablation checkpoints could not be named."""
    from safetensors.torch import load_file

    from biodyn.models import InputSpec, create_model, save_pretrained

    enc = create_model("cldtrans", n_chans=18, n_outputs=1, n_times=1600, sfreq=160.0, **TINY_CLDTRANS)
    enc.input_spec = InputSpec(modalities=["eeg"])  # what its training run records
    save_pretrained(enc, tmp_path / "stage1")
    grid = fg.GridConfig(
        datasets=("chbmit",),
        models=("cldtrans", "cldtrans_ablation"),
        budgets=(1.0,),
        seeds=(42,),
        modes=("linear_probe",),
        train={**TRAIN, "max_steps": 2},
        sources={"chbmit": "excerpts"},
        preprocess={"chbmit": {"fs": 64.0}},
        weights={"cldtrans": str(tmp_path / "stage1"), "cldtrans_ablation": str(tmp_path / "stage1")},
        cache_dir=str(tmp_path / "c"),
    )
    paths = fg.run_grid(grid, tmp_path / "res", progress=False)
    assert len(paths) == 2 and all(p.exists() for p in paths)
    for label in ("cldtrans", "cldtrans_ablation"):
        cell = tmp_path / "res/fewshot" / label / "chbmit-linear_probe/100pct"
        r = json.loads((cell / "seed42.json").read_text())
        assert r["model"] == label and r["init_from"] == str(tmp_path / "stage1")
        assert r["model_config"]["sfreq"] == 160.0 and r["config"]["train"]["objective"] == "task"
        assert {"test_auroc", "test_auprc"} <= set(r["metrics"]) and r["preprocess"]["zscore"]
        trained = load_file(str(cell / "run_seed42" / "checkpoints" / "last" / "model.safetensors"))
        for k, v in enc.state_dict().items():  # probed: the encoder is the pretrained one, untouched
            if not k.startswith("head."):
                assert (trained[k] == v).all(), k
        # `biodyn eval` of the cell's run folder rebuilds the cell's data (64 Hz excerpts resampled to the
        # model's 160 Hz) and scores the checkpoint the cell was tested with
        from biodyn.cli import main

        ev_path = tmp_path / f"ev_{label}.json"
        which = "best" if (cell / "run_seed42" / "checkpoints" / "best").exists() else "last"
        assert main(["eval", str(cell / "run_seed42"), "--checkpoint", which, "--json", str(ev_path)]) == 0
        ev = json.loads(ev_path.read_text())
        assert ev["system"] == "cldtrans_fewshot" and ev["dataset"] == "chbmit"
        assert ev["metrics"]["test_auroc"] == pytest.approx(r["metrics"]["test_auroc"], nan_ok=True)
    with pytest.raises(ConfigError, match="cldtrans_nope"):
        fg.run_grid(fg.GridConfig(models=("cldtrans_nope",)), tmp_path / "x")


@pytest.mark.skipif(ROOT is None or not (ROOT / "ptbxl").exists(), reason="no PTB-XL sample")
def test_ptbxl_at_cldtrans_ecg_rate_reads_records500(tmp_path):
    """CLD-Trans' ECG chain (500 Hz) reads PTB-XL's 500 Hz copy (it had upsampled records100/, whose 100 Hz
    cannot hold the chain's 150 Hz band); the baselines' 50 Hz windows still come from records100/."""
    import warnings

    chain, tag = fg.model_preprocess("cldtrans", {}, "ptbxl", fg.GridConfig())
    assert chain["fs"] == 500.0 and tag == "_ecg500hz"
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        out = fg.corpus_data("ptbxl", ROOT / "ptbxl", tmp_path / "hr", chain, limit=None)
    assert not [w for w in seen if "Nyquist" in str(w.message)]
    n = {k: len({e["record_id"] for e in out[k].ds.entries}) for k in ("train", "val", "test")}
    assert n == {"train": 27, "val": 11, "test": 7} and out["train"].ds.fs == 500.0  # the 45 records500/
    low = fg.corpus_data("ptbxl", ROOT / "ptbxl", tmp_path / "lo", {"fs": 50.0, "h_freq": 20.0}, limit=60)
    assert (
        low["train"].ds.fs == 50.0
        and sum(len({e["record_id"] for e in low[k].ds.entries}) for k in ("train", "val", "test")) == 60
    )


@pytest.mark.skipif(ROOT is None or not (ROOT / "ptbxl").exists(), reason="no PTB-XL sample")
def test_stored_copy_puts_every_model_on_the_same_ptbxl_records(tmp_path):
    """With ``stored_fs`` the baselines' 50 Hz windows come from the copy CLD-Trans reads (the sample's 500 Hz
    records), not from records100/: the same patients in every split, each model at its own rate."""
    grid = fg.GridConfig(cache_dir=str(tmp_path), stored_fs={"ptbxl": 500}, limit={"ptbxl": 200})
    chain, tag = fg.model_preprocess("cldtrans", {}, "ptbxl", grid)
    ours = fg.load_dataset("ptbxl", grid, chain, tag)
    base = fg.load_dataset("ptbxl", grid, {"fs": 50.0, "h_freq": 20.0})
    assert ours["train"].ds.fs == 500.0 and base["train"].ds.fs == 50.0
    for k in ("train", "val", "test"):
        ids = [{e["record_id"] for e in d[k].ds.entries} for d in (ours, base)]
        assert ids[0] == ids[1] and len(ids[0]) == {"train": 27, "val": 11, "test": 7}[k]
    assert {p.name for p in tmp_path.iterdir()} == {"ptbxl_ecg500hz_from500hz", "ptbxl_from500hz"}
    assert fg.compose().stored_fs == {"ptbxl": 500}  # the cpu preset, the default


def test_stored_copy_of_a_single_rate_corpus_is_refused(tmp_path):
    with pytest.raises(ConfigError, match="one rate"):
        fg.corpus_data("sleepedf", tmp_path, tmp_path / "c", {"fs": 50.0}, stored_fs=100)


def test_finished_cells_are_reused_only_with_the_same_settings(tmp_path, monkeypatch):
    """A finished cell is skipped when its stored settings are this run's; one from another preset (other
    training steps) is an error naming what differs, before any data is read; --force runs it again; a cell
    written before settings were stored is kept."""
    import json

    from biodyn.errors import ConfigError
    from biodyn.systems.cldtrans import fewshot_grid as fg

    def grid(steps):
        return fg.GridConfig(
            datasets=("ptbxl",),
            models=("biot",),
            budgets=(1.0,),
            seeds=(42,),
            modes=("linear_probe",),
            train={"max_steps": steps},
        )

    path = fg.cell_path(tmp_path, grid(2), "biot", "ptbxl", "linear_probe", 1.0, 42)
    path.parent.mkdir(parents=True)

    def read_nothing(*a, **k):
        raise RuntimeError("data was read")

    monkeypatch.setattr(fg, "load_dataset", read_nothing)
    path.write_text(json.dumps({"metrics": {}, "cell_settings": fg.cell_settings(grid(2), "biot", "ptbxl")}))
    assert fg.run_grid(grid(2), tmp_path, progress=False) == [path]
    with pytest.raises(
        ConfigError, match=r"seed42\.json: finished with other settings \(train differ\).*--force"
    ):
        fg.run_grid(grid(500), tmp_path, progress=False)
    with pytest.raises(RuntimeError, match="data was read"):
        fg.run_grid(grid(500), tmp_path, progress=False, force=True)
    path.write_text(json.dumps({"metrics": {}}))  # an earlier version's cell: no settings to compare
    assert fg.run_grid(grid(500), tmp_path, progress=False) == [path]


@pytest.mark.parametrize("name", ["cpu", "full"])
def test_presets_are_yaml_grid_settings(name):
    """The presets live in configs/fewshot/preset/*.yaml (not in code), each key a FewshotRun field; the
    grid a run gets is the preset over GridConfig's defaults."""
    import yaml

    from biodyn.configs import PACKAGED

    preset = yaml.safe_load((PACKAGED / "fewshot" / "preset" / f"{name}.yaml").read_text())
    run = fg.compose([f"preset={name}"])
    grid = run.grid()
    assert grid.train == preset["train"] and grid.seeds == (42, 123, 7, 0, 256)
    assert grid.budget_unit == preset["budget_unit"] and grid.datasets == fg.DATASETS
    assert grid.cache_dir == "results/cache"  # <out>/cache unless cache_dir is given


def test_a_preset_with_an_unknown_key_is_refused(tmp_path):
    import shutil

    from biodyn.configs import PACKAGED

    shutil.copytree(PACKAGED / "fewshot", tmp_path / "fewshot")
    (tmp_path / "fewshot" / "preset" / "cpu.yaml").write_text(
        "# @package _global_\ntrain: {max_steps: 2}\nstep: 3\n"
    )
    with pytest.raises(ConfigError, match="unknown few-shot setting step; allowed under the top level"):
        fg.compose(config_dir_=tmp_path)
    with pytest.raises(ConfigError, match="invalid preset='gpu'; allowed: 'cpu', 'full'"):
        fg.compose(["preset=gpu"])


def test_fewshot_cell_run_folder_evaluates_and_loads(tmp_path, monkeypatch):
    """A few-shot cell's run folder is the project's layout (config.yaml, log.jsonl, results.json,
    checkpoints/), `biodyn eval` of it scores the checkpoint on the cell's data with the task's metrics (the
    cell's own test metrics again), and from_pretrained returns the trained model in eval mode."""
    import torch
    from safetensors.torch import load_file

    from biodyn.cli import main
    from biodyn.models import from_pretrained
    from biodyn.models._pretrained import is_export

    data = {"train": _windows(2), "val": _windows(1), "test": _windows(1), "manifest_hash": "x"}
    monkeypatch.setattr(fg, "load_dataset", lambda *a, **k: data)
    grid = fg.GridConfig(
        datasets=("chbmit",),
        models=("eeg_gcnn",),
        budgets=(1.0,),
        seeds=(42,),
        modes=("finetune",),
        model_params=TINY,
        train={**TRAIN, "max_steps": 2, "eval_every": 2, "ckpt_every": 2},
        cache_dir=str(tmp_path / "c"),
    )
    (path,) = fg.run_grid(grid, tmp_path / "r", progress=False)
    cell, run = json.loads(path.read_text()), path.parent / "run_seed42"
    assert {"config.yaml", "log.jsonl", "results.json", "checkpoints"} <= {p.name for p in run.iterdir()}
    assert not is_export(run)
    which = "best" if (run / "checkpoints" / "best").exists() else "last"
    ev = tmp_path / "ev.json"
    assert main(["eval", str(run), "--checkpoint", which, "--json", str(ev)]) == 0
    got = json.loads(ev.read_text())
    assert got["system"] == "cldtrans_fewshot" and got["checkpoint"] == which
    assert got["metrics"]["test_auroc"] == pytest.approx(cell["metrics"]["test_auroc"], nan_ok=True)
    model = from_pretrained(run)
    assert not model.training and model.model_name == "eeg_gcnn"
    first = "best" if (run / "checkpoints" / "best").exists() else "last"  # from_pretrained's first pick
    saved = load_file(str(run / "checkpoints" / first / "model.safetensors"))
    assert all(torch.equal(v, saved[k]) for k, v in model.state_dict().items())
