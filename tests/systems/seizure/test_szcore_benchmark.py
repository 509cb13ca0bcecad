"""biodyn benchmark szcore end to end on a small BIDS dataset laid out as epilepsy2bids writes it (EDFs with
its 19 common-average channels at 256 Hz, HED-SCORE events TSVs), a tiny detector built in the test, and
the figures checked against timescoring called directly on the same events."""

import csv
import datetime
import json

import numpy as np
import pytest
import torch

from biodyn.cli import main

SMALL = {"tcn_channels": [4, 4], "node_dim": 8, "node_layers": 1, "edge_dim": 4, "edge_layers": 1,
         "d_state": 4, "edge_d_state": 4, "mamba_headdim": 4, "pe_k": 4, "decoder_dim": 8, "tcn_stride": 4}  # fmt: skip
BIPOLAR = ["Fp1-F7", "F7-T7", "T7-P7", "P7-O1"]  # T7 is epilepsy2bids' T3-Avg
E2B_ELECTRODES = ["Fp1", "F3", "C3", "P3", "O1", "F7", "T3", "T5", "Fz", "Cz", "Pz", "Fp2", "F4", "C4", "P4", "O2",
                  "F8", "T4", "T6"]  # fmt: skip
HEAD = ["onset", "duration", "eventType", "confidence", "channels", "dateTime", "recordingDuration"]
# subject -> run -> (seconds, reference seizures (onset, duration))
DATASET = {
    "sub-01": {1: (240, [(60.0, 40.0)]), 2: (200, [])},
    "sub-02": {1: (240, [(30.0, 20.0), (170.5, 30.0)])},
    "sub-03": {
        1: (120, [(10.0, 15.0)])
    },  # its EDF lacks T3: the detector fails on it (scored as no detection)
}


def _checkpoint(tmp_path):
    from biodyn.models import create_model
    from biodyn.signal.config import SEIZURE_EEG
    from biodyn.train.checkpoint import save_checkpoint

    torch.manual_seed(3)
    mcfg = {"n_chans": 4, "n_outputs": 1, "n_times": 512, "sfreq": 256.0, **SMALL}
    model = create_model("seizure_tiny", **mcfg)
    spec = {"channels": BIPOLAR, "fs": 256.0, "window_s": 2.0, "preprocess": SEIZURE_EEG.to_dict()}
    save_checkpoint(tmp_path / "run" / "checkpoints" / "best", model=model,
                    optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
                    state={"model_name": "seizure_tiny", "model_config": mcfg, "step": 0, "extra": {"data": spec}})  # fmt: skip
    return tmp_path / "run"


def _bids(root):
    """EDFs as epilepsy2bids' Eeg.saveEdf writes them (``Fp1-Avg`` labels, uV, 256 Hz) with a louder stretch
    where the reference has a seizure, and events TSVs as its Annotations.saveTsv writes them."""
    import edfio

    rng = np.random.default_rng(0)
    for subject, runs in DATASET.items():
        for run, (seconds, seizures) in runs.items():
            base = root / subject / "ses-01" / "eeg" / f"{subject}_ses-01_task-szMonitoring_run-{run:02d}"
            base.parent.mkdir(parents=True, exist_ok=True)
            n = seconds * 256
            names = [e for e in E2B_ELECTRODES if not (subject == "sub-03" and e == "T3")]
            x = rng.standard_normal((len(names), n)) * 20
            for on, dur in seizures:
                x[:, int(on * 256) : int((on + dur) * 256)] *= 8
            sigs = [edfio.EdfSignal(x[i], 256, label=f"{c}-Avg", physical_dimension="uV",
                                    physical_range=(float(np.floor(x[i].min())), float(np.ceil(x[i].max()))))
                    for i, c in enumerate(names)]  # fmt: skip
            edfio.Edf(sigs, starttime=datetime.time(19, 39, 33),
                      recording=edfio.Recording(startdate=datetime.date(2016, 1, 1))).write(f"{base}_eeg.edf")  # fmt: skip
            rows = [[f"{on:.2f}", f"{dur:.2f}", "sz_foc_ia", "n/a", "T4,T6", "2016-01-01 19:39:33", f"{seconds:.2f}"]
                    for on, dur in seizures] or [["0.00", f"{seconds:.2f}", "bckg", "n/a", "n/a",
                                                  "2016-01-01 19:39:33", f"{seconds:.2f}"]]  # fmt: skip
            with open(f"{base}_events.tsv", "w", newline="") as f:
                w = csv.writer(f, delimiter="\t", lineterminator="\n")
                w.writerow(HEAD)
                w.writerows(rows)
    (root / "dataset_description.json").write_text(
        json.dumps({"Name": "tiny synthetic BIDS", "BIDSVersion": "1.9"})
    )


def _direct(root, hyp_dir):
    """SzCORE's figures computed here without biodyn: the TSVs read with csv, 1 Hz masks with int()
    truncation, timescoring's SampleScoring / EventScoring (default parameters = SzCORE's) per file, counts
    summed per subject and scored by timescoring's own computeScores, then nanmean / nanstd over subjects."""
    from timescoring.annotations import Annotation
    from timescoring.scoring import EventScoring, SampleScoring

    def mask(path):
        with open(path) as f:
            rows = list(csv.DictReader(f, delimiter="\t"))
        m = np.zeros(int(float(rows[0]["recordingDuration"])))
        for r in rows:
            if r["eventType"].startswith("sz"):
                m[int(float(r["onset"])) : int(float(r["onset"]) + float(r["duration"]))] = 1
        return m

    sums = {}
    for ref_path in sorted(root.glob("sub-*/**/*_events.tsv")):
        subject = ref_path.relative_to(root).parts[0]
        ref = Annotation(mask(ref_path).astype(bool), 1)
        hp = hyp_dir / ref_path.relative_to(root)
        hyp = Annotation(mask(hp).astype(bool), 1) if hp.exists() else Annotation(np.zeros_like(ref.mask), 1)
        for kind, sc in (("sample", SampleScoring(ref, hyp)), ("event", EventScoring(ref, hyp))):
            acc = sums.setdefault(subject, {}).setdefault(kind, [0, 0, 0, 0, sc.fs])
            acc[0] += sc.tp
            acc[1] += sc.fp
            acc[2] += sc.refTrue
            acc[3] += sc.numSamples
    out = {}
    for kind in ("sample", "event"):
        per = []
        for subject in sorted(sums):
            tp, fp, ref_true, num, fs = sums[subject][kind]
            r = EventScoring.__new__(EventScoring)  # timescoring's score arithmetic on summed counts
            r.tp, r.fp, r.refTrue, r.numSamples, r.fs = tp, fp, ref_true, num, fs
            r.computeScores()
            per.append(r)
        res = {}
        for m in ("sensitivity", "precision", "f1", "fpRate"):
            vals = [getattr(r, m) for r in per]
            res[m], res[f"{m}_std"] = float(np.nanmean(vals)), float(np.nanstd(vals))
        out[f"{kind}_results"] = res
    return out, sums


def _same(a: dict, b: dict) -> bool:
    """Two {"sample_results": {...}, "event_results": {...}} dicts hold the same numbers (NaN == NaN)."""
    return a.keys() == b.keys() and all(a[k] == pytest.approx(b[k], nan_ok=True) for k in a)


@pytest.mark.slow
def test_benchmark_szcore_end_to_end(tmp_path, capsys):
    from biodyn.systems.seizure.szcore import bids_recordings, detect, load_detector, run_szcore_benchmark

    root, out = tmp_path / "bids", tmp_path / "out"
    _bids(root)
    ckpt = _checkpoint(tmp_path)
    recs = bids_recordings(root)
    assert [r.subject for r in recs] == ["sub-01", "sub-01", "sub-02", "sub-03"]
    # a switch-on level inside the untrained detector's range, so that it detects something
    probs = detect(recs[0].edf, load_detector(ckpt), progress=False, threshold=1.0).probs
    thr = float(np.quantile(probs, 0.6))
    post = {"min_duration_s": 1.0}

    res = run_szcore_benchmark(root, ckpt, out, threshold=thr, post=post, progress=False)
    assert res["detected"] == 3 and res["reused"] == 0
    assert list(res["failed"]) == ["sub-03/ses-01/eeg/sub-03_ses-01_task-szMonitoring_run-01_events.tsv"]
    assert "T7" in next(iter(res["failed"].values()))
    expected, sums = _direct(root, out / "hypotheses")
    assert sum(v["event"][0] for v in sums.values()) > 0 and sum(v["event"][1] for v in sums.values()) > 0
    for kind in ("sample_results", "event_results"):
        for m, v in expected[kind].items():
            assert res["szcore"][kind][m] == pytest.approx(v, nan_ok=True), (kind, m)
    assert _same(json.loads((out / "szcore.json").read_text()), res["szcore"])
    assert (
        res["subjects"]["sub-03"]["event"]["ref_true"] == 1 and res["subjects"]["sub-03"]["event"]["tp"] == 0
    )
    assert res["dataset"] == "tiny synthetic BIDS"
    # each hypothesis holds the detector's events, with the EDF's duration and start
    d = next(s for s in res["detections"] if s["events_tsv"].startswith("sub-02"))
    with open(out / "hypotheses" / d["events_tsv"]) as f:
        rows = list(csv.DictReader(f, delimiter="\t"))
    sz = [r for r in rows if r["eventType"] == "sz"]
    assert len(sz) == d["n_events"] and all(r["recordingDuration"] == "240.0000" for r in rows)
    assert [float(r["onset"]) for r in sz] == pytest.approx([e["onset_s"] for e in d["events"]], abs=1e-4)
    assert rows[0]["dateTime"] == "2016-01-01 19:39:33"
    table = (out / "table.md").read_text()
    assert "| sub-02 | 1 | 2 |" in table and "mean ± std over subjects" in table
    assert (out / "per_subject.png").stat().st_size > 5000

    # resumable: nothing is detected again, the figures are the same
    mtimes = {p: p.stat().st_mtime_ns for p in (out / "hypotheses").rglob("*.tsv")}
    res2 = run_szcore_benchmark(root, ckpt, out, threshold=thr, post=post, progress=False, figure=False)
    assert res2["reused"] == 3 and res2["detected"] == 0
    assert {p: p.stat().st_mtime_ns for p in mtimes} == mtimes
    assert _same(res2["szcore"], res["szcore"])
    # other settings: every recording is detected again
    res3 = run_szcore_benchmark(
        root, ckpt, out, threshold=thr + 0.01, post=post, progress=False, figure=False
    )
    assert res3["reused"] == 0 and res3["detected"] == 3

    # the CLI, and the container contract writing the same TSV for one recording
    args = ["--checkpoint", str(ckpt), "--threshold", str(thr), "--post", "min_duration_s=1", "--no-progress"]
    assert main(["benchmark", "szcore", str(root), "--out", str(tmp_path / "cli"), *args]) == 0
    assert "3 recording(s) detected, 0 reused, 1 failed" in capsys.readouterr().out
    assert _same(json.loads((tmp_path / "cli" / "szcore.json").read_text()), res["szcore"])
    assert main(["szcore", str(recs[2].edf), str(tmp_path / "one.tsv"), *args]) == 0
    assert (tmp_path / "one.tsv").read_text() == (
        tmp_path / "cli" / "hypotheses" / d["events_tsv"]
    ).read_text()
