"""Zero-shot focal-lead runner: onset CSV, ictal windows from annotations, rankings, per-seed JSON, resume."""

import json
from pathlib import Path

import numpy as np
import pytest

from biodyn.data_root import data_root
from biodyn.datasets.chbmit import IctalWindow, ictal_windows
from biodyn.datasets.chbmit_excerpts import excerpt_ictal_windows
from biodyn.errors import ConfigError, RecordingError
from biodyn.io.events import read_onset_csv
from biodyn.systems.cldtrans import focal_lead as fl

ROOT = data_root()
CHB = ROOT / "chbmit" if ROOT else None
needs_chb = pytest.mark.skipif(
    CHB is None or not (CHB / "npy_excerpts").is_dir(), reason="no CHB-MIT sample data"
)


def test_onset_csv_format_and_errors(tmp_path):
    f = tmp_path / "on.csv"
    f.write_text("# comment\nrecord,seizure_index,channels\nchb01_03,0,T7-P7; EEG FP1-F7\nchb01_03,1,cz-pz\n")
    assert read_onset_csv(f) == {("chb01_03", 0): ["T7-P7", "Fp1-F7"], ("chb01_03", 1): ["Cz-Pz"]}
    f.write_text("record,seizure,channels\n")
    with pytest.raises(RecordingError, match="header"):
        read_onset_csv(f)
    f.write_text("record,seizure_index,channels\nchb01_03,x,T7-P7\n")
    with pytest.raises(RecordingError, match="line 2"):
        read_onset_csv(f)
    with pytest.raises(ConfigError, match="does not exist"):
        read_onset_csv(tmp_path / "nope.csv")


def test_wilson_interval_matches_statsmodels_formula():
    lo, hi = fl.wilson_interval(7, 10)
    # hand-worked: p = .7, z = 1.96: centre (0.7 + 0.19208) / 1.38415, half-width 0.2574
    assert abs(lo - 0.3968) < 1e-3 and abs(hi - 0.8922) < 1e-3
    assert fl.wilson_interval(0, 5)[0] == 0.0


def test_ictal_windows_use_the_annotated_onset(tmp_path):
    from biodyn.io.edf import write_edf
    from biodyn.types import Recording

    case = tmp_path / "chb09"
    case.mkdir()
    fs, n = 64.0, 64 * 60
    x = np.random.default_rng(0).standard_normal((2, n)).astype(np.float32)
    x[0, 20 * 64 : 30 * 64] += 50.0  # a marker inside the seizure
    write_edf(case / "chb09_01.edf", Recording(x, fs, ["FP1-F7", "F7-T7"]), annotations=False)
    (case / "chb09-summary.txt").write_text(
        "Channels in EDF Files:\nChannel 1: FP1-F7\nChannel 2: F7-T7\n\nFile Name: chb09_01.edf\n"
        "Number of Seizures in File: 1\nSeizure Start Time: 20 seconds\nSeizure End Time: 40 seconds\n"
    )
    from biodyn.datasets import chbmit

    class Two(chbmit.CHBMIT):
        def __init__(self, root):
            super().__init__(root, channels=("Fp1-F7", "F7-T7"))

    orig = chbmit.CHBMIT
    chbmit.CHBMIT = Two
    try:
        ws = ictal_windows(tmp_path, offset_s=2.0, span_s=5.0)
    finally:
        chbmit.CHBMIT = orig
    (w,) = ws
    assert (w.record, w.seizure_index, w.data.shape) == ("chb09_01", 0, (2, 320))
    assert w.data[0].mean() > 40 and w.background is not None and abs(w.background[0].mean()) < 1


def test_excerpt_windows_name_the_person_not_the_case(tmp_path):
    """Regression: excerpt_ictal_windows (then focal_lead.windows_from_excerpts) took the part of the name before ``_`` as the subject, so the
    leave-one-patient-out detector for chb01 trained on chb21's seizures (the same patient, recorded later)."""
    rng = np.random.default_rng(0)
    for rec in ("chb01_03", "chb21_19", "chb17b_63"):
        case = "chb17" if rec.startswith("chb17") else rec[:5]
        (tmp_path / case / "ictal").mkdir(parents=True, exist_ok=True)
        np.save(tmp_path / case / "ictal" / f"{rec}_ictal.npy", rng.standard_normal((23, 256)))
    ws = excerpt_ictal_windows(tmp_path, span_s=1.0)
    assert {w.record: w.subject for w in ws} == {
        "chb01_03": "chb01",
        "chb21_19": "chb01",
        "chb17b_63": "chb17",
    }


@needs_chb
def test_example_onset_file_is_what_its_rule_gives():
    ws = excerpt_ictal_windows(CHB / "npy_excerpts")
    assert read_onset_csv(fl.EXAMPLE_ONSETS) == fl.example_onsets(ws)
    assert "NOT clinical truth" in fl.EXAMPLE_ONSETS.read_text()


@needs_chb
@pytest.mark.slow
def test_runner_end_to_end_on_excerpts(tmp_path):
    ws = fl.select(
        excerpt_ictal_windows(CHB / "npy_excerpts", span_s=2.0), ["T7-P7", "P7-O1", "T8-P8", "P8-O2"], 1
    )
    onsets = read_onset_csv(fl.EXAMPLE_ONSETS)
    cfg = fl.FocalConfig(
        methods=("ldsem", "varlingam", "eeg_gcnn"),
        seeds=(42, 7),
        resample_hz=64.0,
        ldsem_steps=20,
        detector_epochs=2,
        model_params={"eeg_gcnn": {"gcn_hidden": [8], "fc_hidden": [8]}},
    )
    paths = fl.run_focal_lead(ws, onsets, cfg, tmp_path, progress=False)
    assert len(paths) == 6
    r = json.loads(
        (tmp_path / "focal" / "varlingam" / "chbmit-focal" / "zeroshot" / "seed7.json").read_text()
    )
    assert r["deterministic"] and r["metrics"]["n_seizures"] == 2
    for s in r["per_seizure"]:
        assert sorted(s["ranking"]) == sorted(ws[0].channels)
        assert s["top5"] >= s["top3"] >= s["top1"]
    occ = json.loads(
        (tmp_path / "focal" / "eeg_gcnn" / "chbmit-focal" / "zeroshot" / "seed42.json").read_text()
    )
    assert occ["uses_labels"] and len(occ["per_seizure"][0]["occlusion_drop"]) == 4
    mtimes = [p.stat().st_mtime_ns for p in paths]
    again = fl.run_focal_lead(ws, onsets, cfg, tmp_path, progress=False)  # resumable: nothing refitted
    assert [p.stat().st_mtime_ns for p in again] == mtimes
    from biodyn.report import make_report

    rep = make_report(tmp_path, seeds=[42, 7])
    text = open(rep["report"]).read()
    assert "top1" in text and "| zeroshot |\n" in text  # one column for the zero-shot budget
    assert any(f.endswith("focal_topk.png") for f in rep["figures"])
    with pytest.raises(ConfigError, match="unknown focal-lead method"):
        fl.run_focal_lead(ws, onsets, fl.FocalConfig(methods=("nope",)), tmp_path / "x")


def test_summarise_skips_unscored_seizures():
    per = [
        {"onset_channels": ["A"], "top1": 1.0, "top3": 1.0, "top5": 1.0},
        {"onset_channels": [], "ranking": ["A"]},
        {"onset_channels": ["B"], "error": "no detector"},
    ]
    m = fl.summarise(per)
    assert m["n_seizures"] == 1 and m["top1"] == 1.0


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


def test_trained_lag_model_ranks_the_window_channels_at_its_own_rate(tmp_path):
    """Regression: a trained lag model (CLD-Trans) was called without channel names or rate, so its
    ranking named X0..X3 (every top-k 0 whatever the lags) and it read 64 Hz windows as 160 Hz; and only
    export folders were accepted, not the Trainer checkpoint its training writes."""
    import torch

    from biodyn.models import create_model, save_pretrained
    from biodyn.train.checkpoint import save_checkpoint

    model = create_model("cldtrans", n_chans=4, n_outputs=1, n_times=320, sfreq=160.0, **TINY_CLDTRANS)
    save_pretrained(model, tmp_path / "export")
    state = {"model_name": "cldtrans", "model_config": model.init_config()}
    save_checkpoint(
        tmp_path / "run" / "stage1" / "checkpoints" / "last",
        model=model,
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
        state=state,
    )
    seen = []
    orig = type(model).lag_graph

    def spy(self, x, channels=None, fs=None, edge_threshold=None):
        seen.append((tuple(x.shape), channels, fs, edge_threshold))
        return orig(self, x, channels, fs, edge_threshold)

    rng = np.random.default_rng(0)
    chans = ["T7-P7", "P7-O1", "T8-P8", "P8-O2"]
    ws = [
        IctalWindow(f"chb0{k}_01", 0, f"chb0{k}", rng.standard_normal((4, 512)), 256.0, chans) for k in (1, 2)
    ]
    onsets = {(w.record, 0): ["P7-O1"] for w in ws}
    cfg = fl.FocalConfig(methods=("cldtrans", "cldtrans_run"), seeds=(42,), resample_hz=64.0)
    type(model).lag_graph = spy
    try:
        fl.run_focal_lead(
            ws,
            onsets,
            cfg,
            tmp_path / "out",
            progress=False,
            weights={"cldtrans": tmp_path / "export", "cldtrans_run": tmp_path / "run"},
        )
        cfg0 = fl.FocalConfig(methods=("cldtrans",), seeds=(42,), resample_hz=64.0, edge_threshold=0.0)
        fl.run_focal_lead(
            ws, onsets, cfg0, tmp_path / "all", progress=False, weights={"cldtrans": tmp_path / "export"}
        )
    finally:
        type(model).lag_graph = orig
    assert len(seen) == 6 and all(s == ((1, 4, 320), chans, 160.0, None) for s in seen[:4])  # 2 s at 160 Hz
    assert seen[4][3] == 0.0  # --edge-threshold reaches the model: every off-diagonal pair is an edge
    r0 = json.loads((tmp_path / "all/focal/cldtrans/chbmit-focal/zeroshot/seed42.json").read_text())
    assert [s["n_edges"] for s in r0["per_seizure"]] == [12, 12]
    for label in ("cldtrans", "cldtrans_run"):
        r = json.loads(
            (tmp_path / "out" / "focal" / label / "chbmit-focal" / "zeroshot" / "seed42.json").read_text()
        )
        assert r["readout"] == "argmin_i sum_j tau_ij" and not r["uses_labels"] and r["deterministic"]
        for s in r["per_seizure"]:
            assert sorted(s["ranking"]) == sorted(chans) and s["top5"] == 1.0  # 4 channels: top-5 always hits


def test_finished_results_are_reused_only_with_the_same_settings(tmp_path):
    """A (method, seed) file is reused when the run's settings (all but the method and seed lists) and the
    method's weights are the same; another --span-s is an error naming it, --force runs it again."""
    import json
    from dataclasses import asdict

    from biodyn.errors import ConfigError
    from biodyn.systems.cldtrans import focal_lead as fl
    from biodyn.train.fewshot import reuse_finished

    def finished(p, settings, force):  # as run_focal_lead asks
        return reuse_finished(p, settings, fl._stored_settings, force)

    cfg = fl.FocalConfig(methods=("varlingam",), seeds=(42,))
    path = tmp_path / "seed42.json"
    path.write_text(json.dumps({"config": asdict(cfg), "weights": None}))
    other_lists = fl.FocalConfig(methods=("varlingam", "pcmci"), seeds=(42, 7))
    assert finished(path, fl._settings(asdict(other_lists), None), force=False)
    longer = fl._settings(asdict(fl.FocalConfig(span_s=20.0)), None)
    with pytest.raises(ConfigError, match=r"seed42\.json: finished with other settings \(span_s differ\)"):
        finished(path, longer, force=False)
    assert not finished(path, longer, force=True)
    with pytest.raises(ConfigError, match="weights differ"):
        finished(path, fl._settings(asdict(cfg), "runs/stage1"), force=False)
    assert not finished(tmp_path / "none.json", longer, force=False)


def test_device_is_checked_and_used(monkeypatch):
    """The neural detectors train, and the read-outs run, on FocalConfig.device: a bad name or CUDA where
    there is none is an error naming it; the detector and its occlusion scores come back on that device."""
    import numpy as np
    import torch

    from biodyn.errors import ConfigError
    from biodyn.systems.cldtrans import focal_lead as fl

    with pytest.raises(ConfigError, match="invalid device='gpu'"):
        fl.FocalConfig(device="gpu")
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    with pytest.raises(ConfigError, match="device='cuda:1': no CUDA device"):
        fl.torch_device(fl.FocalConfig(device="cuda:1"))
    cfg = fl.FocalConfig(device="auto", detector_epochs=1)
    assert fl.torch_device(cfg).type == "cpu"
    rng = np.random.default_rng(0)
    xs, ys = rng.standard_normal((8, 3, 64)).astype(np.float32), np.array([0, 1] * 4)
    det = fl.train_detector("cnn1d", xs, ys, 64.0, cfg, seed=0, params={"width": 4, "depth": 1})
    assert next(det.parameters()).device.type == "cpu"
    scores = fl.occlusion_scores(det, xs[0])
    assert isinstance(scores, np.ndarray) and scores.shape == (3,)


@pytest.mark.timeout(600)
def test_every_other_method_runs_through_the_runner(tmp_path):
    """DYNOTEARS, PCMCI and Rhino (lag graphs) and the BIOT and BENDR occlusion read-outs run through the same
    runner as the end-to-end test's methods: a ranking of every channel per seizure, labels used only by the
    occlusion read-outs."""
    quick_models = fl.compose(["preset=quick"]).model_params

    ws = fl.select(excerpt_ictal_windows(CHB / "npy_excerpts", span_s=2.0), ["T7-P7", "P7-O1", "T8-P8"], 1)
    onsets = read_onset_csv(fl.EXAMPLE_ONSETS)
    methods = ("dynotears", "pcmci", "rhino", "biot", "bendr")
    cfg = fl.FocalConfig(
        methods=methods,
        seeds=(42,),
        resample_hz=64.0,
        rhino_steps=20,
        detector_epochs=1,
        model_params={k: quick_models[k] for k in ("biot", "bendr")},
    )
    paths = fl.run_focal_lead(ws, onsets, cfg, tmp_path, progress=False)
    assert len(paths) == len(methods)
    for method, path in zip(methods, paths):
        r = json.loads(path.read_text())
        assert r["model"] == method and r["uses_labels"] == (method in ("biot", "bendr"))
        assert r["metrics"]["n_seizures"] == 2, (method, r["per_seizure"])
        for s in r["per_seizure"]:
            assert sorted(s["ranking"]) == sorted(ws[0].channels)


@pytest.mark.parametrize(
    ("flags", "span_s", "resample_hz", "per_patient"),
    [
        ([], 10.0, 128.0, None),
        (["--quick"], 4.0, 64.0, 2),
        # regression: "not set" was detected by comparing with the default, so an explicit --span-s 10 or
        # --resample-hz 128 under --quick silently became 4 s and 64 Hz
        (["--quick", "--span-s", "10", "--resample-hz", "128"], 10.0, 128.0, 2),
        (["--quick", "--span-s", "6", "--per-patient", "1"], 6.0, 64.0, 1),
        (["--span-s", "4"], 4.0, 128.0, None),
    ],
)
def test_focal_flags_given_win_over_the_quick_preset(flags, span_s, resample_hz, per_patient):
    import argparse

    from biodyn._cli.focal import add_arguments, overrides

    parser = argparse.ArgumentParser()
    add_arguments(parser)
    run = fl.compose(overrides(parser.parse_args(flags)))
    assert (run.span_s, run.resample_hz, run.per_patient) == (span_s, resample_hz, per_patient)
    assert run.window() == {
        "span_s": span_s,
        "resample_hz": resample_hz,
        "channels": run.channels,
        "per_patient": per_patient,
    }
    quick = "--quick" in flags
    assert (
        run.channels == ["Fp1-F7", "F7-T7", "T7-P7", "P7-O1", "Fp2-F8", "F8-T8", "T8-P8", "P8-O2"]
    ) == quick
    assert run.ldsem_steps == (60 if quick else 200)
    assert run.focal_config().ldsem_steps == run.ldsem_steps  # what a result records


def test_a_preset_with_an_unknown_key_is_refused(tmp_path, monkeypatch):
    import shutil

    from biodyn.configs import PACKAGED

    shutil.copytree(PACKAGED / "focal", tmp_path / "focal")
    (tmp_path / "focal" / "preset" / "quick.yaml").write_text("# @package _global_\nspan_s: 4.0\nspan: 3\n")
    monkeypatch.setenv("BIODYN_CONFIG_DIR", str(tmp_path))
    with pytest.raises(ConfigError, match="unknown focal-lead setting span; allowed under the top level"):
        fl.compose(["preset=quick"])
    with pytest.raises(ConfigError, match="invalid preset='cpu'; allowed: 'quick'"):
        fl.compose(["preset=cpu"])


def _tiny_windows(n_subjects=3, chans=("A", "B", "C", "D"), fs=64.0, n=128):
    """One seizure per subject: channel B leads (its ictal burst starts first), background is noise."""
    rng = np.random.default_rng(1)
    out = []
    for k in range(n_subjects):
        x = 0.1 * rng.standard_normal((len(chans), n))
        x[1, 20:] += np.sin(np.arange(n - 20) * 0.7)
        x[2, 24:] += np.sin(np.arange(n - 24) * 0.7)
        out.append(
            IctalWindow(
                f"chb0{k + 1}_01", 0, f"chb0{k + 1}", x, fs, list(chans), rng.standard_normal(x.shape)
            )
        )
    return out


TINY_FOCAL = dict(
    seeds=(42, 7),
    resample_hz=32.0,
    ldsem_steps=3,
    detector_epochs=2,
    model_params={"cnn1d": {"width": 4, "depth": 1}},
)


def test_focal_run_folders_evaluate_and_load(tmp_path, capsys):
    """Every (method, seed) writes the project's run folder beside its per-seed JSON (config.yaml naming the
    system, log.jsonl, results.json, the read-out arrays, the occlusion detectors' checkpoints; nothing an
    export loader takes for an export); `biodyn eval RUN` recomputes top-1/3/5 from what the run stored;
    from_pretrained loads a detector and says in one line what a run folder without a model of its own is."""
    import yaml

    from biodyn.cli import main
    from biodyn.errors import CheckpointError
    from biodyn.models import from_pretrained
    from biodyn.models._pretrained import is_export

    ws = _tiny_windows()
    onsets = {(w.record, 0): ["B"] for w in ws}
    cfg = fl.FocalConfig(methods=("ldsem", "cnn1d"), **TINY_FOCAL)
    paths = fl.run_focal_lead(ws, onsets, cfg, tmp_path, progress=False, inputs={"onsets": "given"})
    assert len(paths) == 4
    zs = tmp_path / "focal" / "{}" / "chbmit-focal" / "zeroshot"
    lag, occ = (Path(str(zs).format(m)) / "run_seed42" for m in ("ldsem", "cnn1d"))
    for run in (lag, occ):
        assert {"config.yaml", "log.jsonl", "results.json", "readout.npz"} <= {p.name for p in run.iterdir()}
        assert not (run / "config.json").exists() and not (run / "model.safetensors").exists()
        assert not is_export(run)
        conf = yaml.safe_load((run / "config.yaml").read_text())
        assert (
            conf["system"] == "cldtrans_focal" and conf["seed"] == 42 and conf["inputs"]["onsets"] == "given"
        )
        assert [w["record"] for w in conf["inputs"]["windows"]] == [w.record for w in ws]
        rows = [json.loads(line) for line in (run / "log.jsonl").read_text().splitlines()]
        assert rows[-1]["kind"] == "summary" and sum(r["kind"] == "seizure" for r in rows) == 3
        seed_json = json.loads((run.parent / "seed42.json").read_text())
        assert json.loads((run / "results.json").read_text())["metrics"] == seed_json["metrics"]
        assert seed_json["run_dir"] == str(run)
        # biodyn eval: the same accuracies, recomputed (the run's metrics are not read)
        ev = tmp_path / f"ev_{run.parent.parent.parent.name}.json"
        assert main(["eval", str(run), "--json", str(ev)]) == 0
        got = json.loads(ev.read_text())
        assert got["system"] == "cldtrans_focal" and got["metrics"] == pytest.approx(seed_json["metrics"])
        assert [s["ranking"] for s in got["per_seizure"]] == [s["ranking"] for s in seed_json["per_seizure"]]
    # the lag method trains nothing: no checkpoint, and the loader says what the folder is, in one line
    assert not (lag / "checkpoints").exists() and not (lag / "detectors").exists()
    with pytest.raises(
        CheckpointError, match=r"zero-shot focal-lead run \(ldsem, seed 42\).*trains no model"
    ) as e:
        from_pretrained(lag)
    assert "\n" not in str(e.value)
    # the occlusion read-out trained one detector per left-out patient: each loads, and it is the one that scored
    dets = sorted(p.name for p in (occ / "detectors").iterdir())
    assert dets == ["chb01", "chb02", "chb03"]
    with pytest.raises(CheckpointError, match=r"3 leave-one-patient-out detectors.*detectors/chb01"):
        from_pretrained(occ)
    det = from_pretrained(occ / "detectors" / "chb02")
    import torch

    from biodyn.models._pretrained import read_state
    from biodyn.train.checkpoint import load_checkpoint

    ckpt = occ / "detectors" / "chb02" / "checkpoints" / "last"
    assert read_state(ckpt)["optimizer"] is None  # weights only: a detector is never trained further
    with pytest.raises(CheckpointError, match="no optimiser state"):
        load_checkpoint(ckpt, model=det, optimizer=torch.optim.AdamW(det.parameters()))
    assert not det.training and det.input_spec.extra["left_out_subject"] == "chb02"
    assert det.input_spec.extra["trained_on"] == ["chb01_01#0", "chb03_01#0"]
    x = fl._prepare(ws[1], ws[1].data, cfg)[0]
    drop = json.loads((occ.parent / "seed42.json").read_text())["per_seizure"][1]["occlusion_drop"]
    assert fl.occlusion_scores(det, x) == pytest.approx(drop, abs=1e-6)
    det_rows = [json.loads(r) for r in (occ / "log.jsonl").read_text().splitlines()]
    assert sum(r["kind"] == "detector" for r in det_rows) == 3 * 2  # 3 detectors x 2 epochs
    # eval recomputes: hand-set drops over A..D rank B, C, A, D; onset A is then top-3, not top-1
    np.savez(
        occ / "readout.npz",
        **{f"s{i}_channels": np.array(list("ABCD")) for i in range(3)},
        **{f"s{i}_drop": np.array([0.1, 0.5, 0.3, 0.0]) for i in range(3)},
    )
    res = json.loads((occ / "results.json").read_text())
    for s in res["per_seizure"]:
        s["onset_channels"] = ["A"]
    res["metrics"] = {"top1": 1.0}  # not read
    (occ / "results.json").write_text(json.dumps(res))
    assert main(["eval", str(occ), "--json", str(tmp_path / "ev2.json")]) == 0
    got = json.loads((tmp_path / "ev2.json").read_text())
    assert got["per_seizure"][0]["ranking"] == ["B", "C", "A", "D"]
    assert (got["metrics"]["top1"], got["metrics"]["top3"], got["metrics"]["n_seizures"]) == (0.0, 1.0, 3)
    capsys.readouterr()
    assert main(["eval", str(occ), "--split", "val"]) == 2  # a focal run has no splits
    assert "biodyn: error: --split: a focal-lead run has no splits" in capsys.readouterr().err
    # resumable: a second run reuses every finished (method, seed), its run folder untouched
    stamp = {p: p.stat().st_mtime_ns for p in (lag / "config.yaml", occ / "log.jsonl", *paths)}
    fl.run_focal_lead(ws, onsets, cfg, tmp_path, progress=False, inputs={"onsets": "given"})
    assert {p: p.stat().st_mtime_ns for p in stamp} == stamp


def test_focal_run_folder_of_applied_weights_points_at_them(tmp_path):
    """A method read from given weights trains nothing: its run folder stores no model and says where the
    applied one is; from_pretrained of the run names that folder."""
    from biodyn.errors import CheckpointError
    from biodyn.models import create_model, from_pretrained, save_pretrained

    ws = _tiny_windows(2)
    det = create_model("cnn1d", n_chans=4, n_outputs=2, n_times=64, sfreq=32.0, width=4, depth=1)
    save_pretrained(det, tmp_path / "export")
    cfg = fl.FocalConfig(methods=("mine",), **{**TINY_FOCAL, "seeds": (42,)})
    fl.run_focal_lead(
        ws,
        {(w.record, 0): ["B"] for w in ws},
        cfg,
        tmp_path,
        progress=False,
        weights={"mine": tmp_path / "export"},
    )
    run = tmp_path / "focal/mine/chbmit-focal/zeroshot/run_seed42"
    assert not (run / "detectors").exists() and not (run / "checkpoints").exists()
    with pytest.raises(CheckpointError, match=f"trained model in {tmp_path / 'export'}.*load that folder"):
        from_pretrained(run)
    # detectors trained but not kept (biodyn focal --no-detectors): the folder says so, eval still works
    cfg = fl.FocalConfig(methods=("cnn1d",), **{**TINY_FOCAL, "seeds": (42,)})
    onsets = {(w.record, 0): ["B"] for w in ws}
    (path,) = fl.run_focal_lead(ws, onsets, cfg, tmp_path / "nd", progress=False, keep_detectors=False)
    run = path.parent / "run_seed42"
    assert not (run / "detectors").exists()
    with pytest.raises(CheckpointError, match="did not keep its 2 leave-one-patient-out detectors"):
        from_pretrained(run)
    from biodyn.systems.cldtrans.evaluate import evaluate_focal_run

    assert evaluate_focal_run(run)["metrics"] == pytest.approx(json.loads(path.read_text())["metrics"])


@needs_chb
@pytest.mark.slow
def test_focal_cli_run_folder_evaluates(tmp_path, capsys):
    """`biodyn focal` writes the run folder with where its windows and onsets came from; `biodyn eval` of it
    prints the recomputed accuracies."""
    import yaml

    from biodyn.cli import main

    args = ["focal", "--excerpts", "--data", str(CHB), "--quick", "--methods", "varlingam", "--seeds", "42"]
    args += ["--span-s", "2", "--channels", "T7-P7,P7-O1,T8-P8", "--per-patient", "1", "--out", str(tmp_path)]
    assert main(args) == 0
    run = tmp_path / "focal/varlingam/chbmit-focal/zeroshot/run_seed42"
    conf = yaml.safe_load((run / "config.yaml").read_text())
    assert conf["inputs"]["excerpts"] and conf["inputs"]["onsets"] == str(fl.EXAMPLE_ONSETS)
    assert conf["inputs"]["window"]["channels"] == ["T7-P7", "P7-O1", "T8-P8"]
    capsys.readouterr()
    assert main(["eval", str(run)]) == 0
    seed = json.loads((run.parent / "seed42.json").read_text())["metrics"]
    assert f"varlingam seed 42: top1 {seed['top1']:.3f}" in capsys.readouterr().out
    assert json.loads((run / "eval_focal.json").read_text())["metrics"] == pytest.approx(seed)
