"""biodyn benchmark szcore end to end on a small BIDS dataset laid out as epilepsy2bids writes it (EDFs with
its 19 common-average channels at 256 Hz, HED-SCORE events TSVs) and a detector built in the test (smoothed
signal energy: it finds the loud stretches, seizures and one artefact alike), with the figures checked against
hand-worked counts and against timescoring called directly on the same events."""

import csv
import dataclasses
import datetime
import json
from dataclasses import dataclass

import numpy as np
import pytest
import torch
from torch import nn

from biodyn.cli import main
from biodyn.models import BiodynModel, register_model

BIPOLAR = ["Fp1-F7", "F7-T7", "T7-P7", "P7-O1"]  # T7 is epilepsy2bids' T3-Avg
E2B_ELECTRODES = [
    "Fp1",
    "F3",
    "C3",
    "P3",
    "O1",
    "F7",
    "T3",
    "T5",
    "Fz",
    "Cz",
    "Pz",
    "Fp2",
    "F4",
    "C4",
    "P4",
    "O2",
    "F8",
    "T4",
    "T6",
]
HEAD = ["onset", "duration", "eventType", "confidence", "channels", "dateTime", "recordingDuration"]
# subject -> run -> (seconds, reference seizures (onset, duration), loud stretches that are not seizures)
DATASET = {
    "sub-01": {1: (240, [(60.0, 40.0)], []), 2: (200, [], [(100.0, 10.0)])},
    "sub-02": {1: (240, [(30.0, 20.0), (170.5, 30.0)], [])},
    "sub-03": {1: (120, [(10.0, 15.0)], [])},  # its EDF lacks T3: the detector fails on it (no detection)
}


@dataclass
class EnergyConfig:
    offset: float = 8.0  # logit = energy - offset
    smooth_s: float = 1.0  # moving-average window of the energy


class EnergyDetector(BiodynModel):
    """Per-sample logit of the channel-mean squared signal, smoothed: ``(B, C, T) -> (B, T)``."""

    output = "per_sample"

    def __init__(self, n_chans, n_outputs, n_times, sfreq, cfg=None):
        super().__init__(n_chans, n_outputs, n_times, sfreq, cfg or EnergyConfig())
        self.head = nn.Conv1d(1, 1, 1)
        with torch.no_grad():
            self.head.weight.fill_(1.0)
            self.head.bias.fill_(-self.cfg.offset)

    def forward_features(self, x):  # (B, C, T) -> (B, 1, T)
        k = max(1, round(self.cfg.smooth_s * self.sfreq)) | 1
        e = x.pow(2).mean(1, keepdim=True)
        return nn.functional.avg_pool1d(e, k, stride=1, padding=k // 2, count_include_pad=False)

    def forward_head(self, features, pre_logits=False):  # (B, 1, T) -> (B, T)
        return features if pre_logits else self.head(features).squeeze(1)


def _checkpoint(tmp_path):
    """The energy detector as a training run would leave it (robust z-score: the loud stretches stand out)."""
    from biodyn.models import create_model
    from biodyn.signal.config import SEIZURE_EEG
    from biodyn.train.checkpoint import save_checkpoint

    register_model("seizure_energy_test", config=EnergyConfig)(EnergyDetector)
    model = create_model("seizure_energy_test", n_chans=4, n_outputs=1, n_times=1024, sfreq=256.0)
    spec = {
        "channels": BIPOLAR,
        "fs": 256.0,
        "window_s": 4.0,
        "preprocess": dataclasses.replace(SEIZURE_EEG, robust=True).to_dict(),
    }
    save_checkpoint(
        tmp_path / "run" / "checkpoints" / "best",
        model=model,
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
        state={
            "model_name": "seizure_energy_test",
            "model_config": model.init_config(),
            "step": 0,
            "extra": {"data": spec},
        },
    )
    return tmp_path / "run"


def _bids(root):
    """EDFs as epilepsy2bids' Eeg.saveEdf writes them (``Fp1-Avg`` labels, uV, 256 Hz) with a louder stretch
    where the reference has a seizure, and events TSVs as its Annotations.saveTsv writes them."""
    import edfio

    rng = np.random.default_rng(0)
    for subject, runs in DATASET.items():
        for run, (seconds, seizures, artefacts) in runs.items():
            base = root / subject / "ses-01" / "eeg" / f"{subject}_ses-01_task-szMonitoring_run-{run:02d}"
            base.parent.mkdir(parents=True, exist_ok=True)
            n = seconds * 256
            names = [e for e in E2B_ELECTRODES if not (subject == "sub-03" and e == "T3")]
            x = rng.standard_normal((len(names), n)) * 20
            for on, dur in seizures + artefacts:
                x[:, int(on * 256) : int((on + dur) * 256)] *= 8
            sigs = [
                edfio.EdfSignal(
                    x[i],
                    256,
                    label=f"{c}-Avg",
                    physical_dimension="uV",
                    physical_range=(float(np.floor(x[i].min())), float(np.ceil(x[i].max()))),
                )
                for i, c in enumerate(names)
            ]
            edfio.Edf(
                sigs,
                starttime=datetime.time(19, 39, 33),
                recording=edfio.Recording(startdate=datetime.date(2016, 1, 1)),
            ).write(f"{base}_eeg.edf")
            rows = [
                [
                    f"{on:.2f}",
                    f"{dur:.2f}",
                    "sz_foc_ia",
                    "n/a",
                    "T4,T6",
                    "2016-01-01 19:39:33",
                    f"{seconds:.2f}",
                ]
                for on, dur in seizures
            ] or [["0.00", f"{seconds:.2f}", "bckg", "n/a", "n/a", "2016-01-01 19:39:33", f"{seconds:.2f}"]]
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
def test_benchmark_szcore_end_to_end(tmp_path, capsys, scratch_registry):
    from biodyn.systems.seizure.szcore import bids_recordings, detect, load_detector, run_szcore_benchmark

    root, out = tmp_path / "bids", tmp_path / "out"
    _bids(root)
    ckpt = _checkpoint(tmp_path)
    recs = bids_recordings(root)
    assert [r.subject for r in recs] == ["sub-01", "sub-01", "sub-02", "sub-03"]
    # the detector finds the loud stretches, within a second or two
    d = detect(recs[2].edf, load_detector(ckpt), progress=False)
    found = np.array([(e.onset_s, e.offset_s) for e in d.events])
    assert found.shape == (2, 2) and np.abs(found - [(30, 50), (170.5, 200.5)]).max() < 2, found

    res = run_szcore_benchmark(root, ckpt, out, progress=False)
    assert res["detected"] == 3 and res["reused"] == 0
    assert list(res["failed"]) == ["sub-03/ses-01/eeg/sub-03_ses-01_task-szMonitoring_run-01_events.tsv"]
    assert "T7" in next(iter(res["failed"].values()))
    expected, sums = _direct(root, out / "hypotheses")
    # hand-worked: sub-01 finds its seizure (TP) and the artefact (FP, in 440 s); sub-02 both seizures;
    # sub-03 nothing (not processed)
    assert {s: v["event"][:3] for s, v in sums.items()} == {
        "sub-01": [1, 1, 1],
        "sub-02": [2, 0, 2],
        "sub-03": [0, 0, 1],
    }
    ev = res["szcore"]["event_results"]
    assert ev["sensitivity"] == pytest.approx(2 / 3) and ev["precision"] == pytest.approx(0.75)
    assert ev["f1"] == pytest.approx((2 / 3 + 1 + 0) / 3) and ev["fpRate"] == pytest.approx(86400 / 440 / 3)
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
    res2 = run_szcore_benchmark(root, ckpt, out, progress=False, figure=False)
    assert res2["reused"] == 3 and res2["detected"] == 0
    assert {p: p.stat().st_mtime_ns for p in mtimes} == mtimes
    assert _same(res2["szcore"], res["szcore"])
    # other settings: every recording is detected again
    res3 = run_szcore_benchmark(root, ckpt, out, threshold=0.9, progress=False, figure=False)
    assert res3["reused"] == 0 and res3["detected"] == 3

    # the CLI, and the container contract writing the same TSV for one recording
    args = ["--checkpoint", str(ckpt), "--no-progress"]
    assert main(["benchmark", "szcore", str(root), "--out", str(tmp_path / "cli"), *args]) == 0
    assert "3 recording(s) detected, 0 reused, 1 failed" in capsys.readouterr().out
    assert _same(json.loads((tmp_path / "cli" / "szcore.json").read_text()), res["szcore"])
    assert main(["szcore", str(recs[2].edf), str(tmp_path / "one.tsv"), *args]) == 0
    assert (tmp_path / "one.tsv").read_text() == (
        tmp_path / "cli" / "hypotheses" / d["events_tsv"]
    ).read_text()
