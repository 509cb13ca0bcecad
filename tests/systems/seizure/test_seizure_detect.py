"""biodyn detect and the seizure training pieces (focal loss, dev metric) on small inputs."""

import warnings
from pathlib import Path

import numpy as np
import pytest
import torch

from biodyn.data_root import data_root
from biodyn.errors import ChannelError, CheckpointError, RecordingError
from biodyn.models.seizure import TEST_CONFIG
from biodyn.types import Recording

SMALL = TEST_CONFIG  # the registry's small Brain-Go-Brr detector
BIPOLAR = ["Fp1-F7", "F7-T7", "T7-P7", "P7-O1"]


def _checkpoint(tmp_path: Path, channels, window_s=2.0, name="seizure_tiny") -> Path:
    from biodyn.models import create_model
    from biodyn.signal.config import SEIZURE_EEG
    from biodyn.train.checkpoint import save_checkpoint

    torch.manual_seed(0)
    mcfg = {"n_chans": len(channels), "n_outputs": 1, "n_times": int(window_s * 256), "sfreq": 256.0, **SMALL}
    if name == "cnn1d":
        mcfg = {"n_chans": len(channels), "n_outputs": 1, "n_times": 512, "sfreq": 256.0}
    model = create_model(name, **mcfg)
    spec = {
        "channels": list(channels),
        "fs": 256.0,
        "window_s": window_s,
        "preprocess": SEIZURE_EEG.to_dict(),
    }
    folder = tmp_path / "run" / "checkpoints" / "best"
    save_checkpoint(
        folder,
        model=model,
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
        state={"model_name": name, "model_config": mcfg, "step": 0, "extra": {"data": spec}},
    )
    return tmp_path / "run"


def _edf(tmp_path, names, seconds=6.0, fs=256.0, nan_row=None, flat_row=None) -> Path:
    from biodyn.io import write_edf

    rng = np.random.default_rng(1)
    x = rng.standard_normal((len(names), int(seconds * fs))).astype(np.float32) * 20
    if flat_row is not None:
        x[flat_row] = 3.0
    path = tmp_path / "rec.edf"
    write_edf(path, Recording(x, fs, list(names), [], {}))
    return path


@pytest.mark.slow
def test_detect_writes_every_output_and_maps_referential_to_bipolar(tmp_path):
    from biodyn.io import read_tusz_csv
    from biodyn.systems.seizure.detect import detect_files

    ckpt = _checkpoint(tmp_path, BIPOLAR)
    rec = _edf(tmp_path, ["Fp1", "F7", "T7", "P7", "O1", "Cz"])  # referential: derivations are computed
    rep = detect_files(
        [rec],
        ckpt,
        tmp_path / "out",
        json_path=tmp_path / "s.json",
        edf_annotations=True,
        progress=False,
        threshold=1e-9,
    )
    assert not rep["failed"]
    r = rep["recordings"][0]
    assert r["derived_bipolar_channels"] == BIPOLAR and r["real_time_factor"] > 0
    probs = np.load(r["outputs"]["probs"])
    assert probs.shape == (6 * 256,) and np.all((probs >= 0) & (probs <= 1))
    ann = read_tusz_csv(r["outputs"]["csv_bi"])
    assert ann.duration_s == pytest.approx(6.0)
    # threshold ~0 (0 itself is refused): the whole recording is one event
    assert len(ann.events) == r["n_events"] == 1
    tsv = Path(r["outputs"]["events_tsv"]).read_text().splitlines()
    assert tsv[0].split("\t")[:3] == ["onset", "duration", "eventType"] and len(tsv) == 2
    assert Path(r["outputs"]["png"]).stat().st_size > 1000 and Path(r["outputs"]["edf"]).exists()
    assert (tmp_path / "s.json").exists()


def test_stitching_matches_single_windows(tmp_path):
    from biodyn.systems.seizure.detect import load_detector, predict_probs

    det = load_detector(_checkpoint(tmp_path, BIPOLAR))
    x = np.random.default_rng(0).standard_normal((4, 1024)).astype(np.float32)
    p = predict_probs(det, x, overlap=0.0, progress=False)
    with torch.no_grad():
        ref = torch.sigmoid(det.model(torch.from_numpy(x).reshape(4, 2, 512).permute(1, 0, 2))).reshape(-1)
    np.testing.assert_allclose(p, ref.numpy(), atol=1e-6)
    p2 = predict_probs(det, x, overlap=0.5, progress=False)  # three windows, the middle one overlapping both
    with torch.no_grad():
        mid = torch.sigmoid(det.model(torch.from_numpy(x[None, :, 256:768])))[0].numpy()
    np.testing.assert_allclose(p2[256:512], (ref.numpy()[256:512] + mid[:256]) / 2, atol=1e-6)


def test_bad_inputs(tmp_path):
    from biodyn.systems.seizure.detect import detect, load_detector

    det = load_detector(_checkpoint(tmp_path, BIPOLAR))
    with pytest.raises(ChannelError, match=r"missing channel.*P7-O1"):
        detect(_edf(tmp_path, ["Fp1", "F7", "T7", "P7"]), det, progress=False)
    d = detect(_edf(tmp_path, ["Fp1", "F7", "T7", "P7"]), det, progress=False, on_missing="zero")
    assert d.zero_filled == ["P7-O1"]
    with pytest.warns(UserWarning, match="shorter than one 2 s window; zero-padded"):
        d = detect(_edf(tmp_path, BIPOLAR, seconds=1.0), det, progress=False)
    assert d.padded and d.probs.shape == (256,)
    with pytest.raises(RecordingError, match="flat channel"):
        detect(_edf(tmp_path, BIPOLAR, flat_row=2), det, progress=False)
    bad = tmp_path / "corrupt.edf"
    bad.write_bytes(b"0       garbage header" * 5)
    with pytest.raises(RecordingError, match=r"corrupt\.edf"):
        detect(bad, det, progress=False)
    with pytest.raises(RecordingError, match=r"rec\.edf: cannot preprocess"):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            detect(_edf(tmp_path, BIPOLAR, seconds=100.0, fs=0.5), det, progress=False)  # 512x: no ratio
    with pytest.raises(CheckpointError, match="not a seizure detector"):
        load_detector(_checkpoint(tmp_path / "c", BIPOLAR, name="cnn1d"))
    with pytest.raises(CheckpointError, match="no such folder"):
        load_detector(tmp_path / "nowhere")
    (tmp_path / "empty").mkdir()
    with pytest.raises(CheckpointError, match="neither an export"):
        load_detector(tmp_path / "empty")


def test_detect_reads_an_export_folder_with_its_input_spec(tmp_path):
    """Regression: `biodyn detect --checkpoint DIR` refused an export written by save_pretrained ("no checkpoint
    here"); the export now carries montage, rate, window, preprocessing and threshold in its input_spec."""
    from biodyn.cli import main
    from biodyn.models import InputSpec, from_pretrained, save_pretrained
    from biodyn.signal.config import SEIZURE_EEG
    from biodyn.systems.seizure.detect import detect, load_detector

    run = _checkpoint(tmp_path, BIPOLAR)
    model = from_pretrained(run)
    spec = InputSpec(
        channels=BIPOLAR, sfreq=256.0, window_s=2.0, preprocessing=SEIZURE_EEG.to_dict(), threshold=0.3
    )
    export = save_pretrained(model, tmp_path / "export", input_spec=spec)
    det = load_detector(export)
    assert det.channels == BIPOLAR and det.fs == 256.0 and det.window_s == 2.0 and det.threshold == 0.3
    assert det.checkpoint == export
    rec = _edf(tmp_path, BIPOLAR)
    a, b = detect(rec, det, progress=False), detect(rec, load_detector(run), progress=False)
    np.testing.assert_array_equal(a.probs, b.probs)  # the same weights and preprocessing from either folder
    assert a.threshold == 0.3 and b.threshold == 0.86  # the run predates the spec: the default threshold
    assert (
        main(
            [
                "detect",
                str(rec),
                "--checkpoint",
                str(export),
                "--out",
                str(tmp_path / "o"),
                "--no-png",
                "--no-progress",
            ]
        )
        == 0
    )
    assert (tmp_path / "o" / "rec.csv_bi").is_file()
    with pytest.raises(CheckpointError, match="records no channels"):
        load_detector(save_pretrained(model, tmp_path / "bare", input_spec=InputSpec(sfreq=256.0)))


def test_detect_takes_a_path_a_recording_an_array_or_an_mne_raw(tmp_path):
    mne = pytest.importorskip("mne")
    from biodyn.io import read_recording
    from biodyn.systems.seizure.detect import detect, load_detector

    run = _checkpoint(tmp_path, BIPOLAR)
    det = load_detector(run)
    path = _edf(tmp_path, BIPOLAR)
    ref = detect(path, det, progress=False).probs
    rec = read_recording(path)
    np.testing.assert_allclose(detect(rec, det, progress=False).probs, ref, atol=1e-6)
    np.testing.assert_allclose(
        detect(rec.data, det, fs=rec.fs, channels=rec.channels, progress=False).probs, ref, atol=1e-6
    )
    raw = rec.to_mne()
    assert isinstance(raw, mne.io.BaseRaw)
    # the folder loads here
    np.testing.assert_allclose(detect(raw, run, progress=False).probs, ref, atol=1e-5)
    with pytest.raises(Exception, match="needs its rate and channel names"):
        detect(rec.data, det, progress=False)
    with pytest.raises(Exception, match="cannot detect on a dict"):
        detect({}, det, progress=False)


@pytest.mark.skipif(
    data_root() is None or not (data_root() / "chbmit/edf_crops").is_dir(), reason="no CHB-MIT crops"
)
@pytest.mark.slow
def test_detect_on_the_chbmit_crop(tmp_path):
    from biodyn.datasets.chbmit import CHANNELS
    from biodyn.systems.seizure.detect import detect_files

    crop = data_root() / "chbmit/edf_crops/chb01_03_Seizure.edf"
    rep = detect_files([crop], _checkpoint(tmp_path, CHANNELS), tmp_path / "o", progress=False)
    r = rep["recordings"][0]
    assert r["duration_s"] == pytest.approx(41.0) and not r["derived_bipolar_channels"]
    assert set(r["outputs"]) == {"csv_bi", "events_tsv", "probs", "png"}


def test_the_threshold_given_is_the_one_reported_and_drawn(tmp_path):
    """detect(..., threshold=x): the Detection, the summary JSON (top level and the recording's entry) and the
    PNG's dashed line all say x (they had said the default 0.86)."""
    import importlib
    import json

    mod = importlib.import_module("biodyn.systems.seizure.detect")  # the package re-exports detect()
    from biodyn.systems.seizure.detect import detect, detect_files, load_detector

    det = load_detector(_checkpoint(tmp_path, BIPOLAR))
    rec = _edf(tmp_path, BIPOLAR)
    d = detect(rec, det, threshold=0.49, progress=False)
    assert d.threshold == 0.49 and d.summary()["threshold"] == 0.49
    drawn = []
    real = mod.plot_detection

    def spy(d, *a, **k):
        drawn.append(d.threshold)
        return real(d, *a, **k)

    mod.plot_detection = spy
    try:
        rep = detect_files(
            [rec],
            tmp_path / "run",
            tmp_path / "o",
            json_path=tmp_path / "s.json",
            threshold=0.49,
            progress=False,
        )
    finally:
        mod.plot_detection = real
    js = json.loads((tmp_path / "s.json").read_text())
    assert js["threshold"] == 0.49 and js["recordings"][0]["threshold"] == 0.49 and drawn == [0.49]
    assert rep["recordings"][0]["threshold"] == 0.49


@pytest.mark.skipif(
    data_root() is None or not (data_root() / "chbmit/edf_crops").is_dir(), reason="no CHB-MIT crops"
)
def test_events_tsv_carries_the_start_time_and_renamed_channels_are_reported(tmp_path):
    from biodyn.datasets.chbmit import CHANNELS
    from biodyn.systems.seizure.detect import detect, load_detector, write_outputs

    crop = data_root() / "chbmit/edf_crops/chb01_03_Seizure.edf"
    det = load_detector(_checkpoint(tmp_path, CHANNELS))
    with pytest.warns(
        UserWarning,
        match=r"chb01_03_Seizure\.edf: channel T8-P8 appears twice, the second kept "
        r"as T8-P8#2",
    ):
        d = detect(crop, det, threshold=0.0, progress=False)  # threshold 0: one event over the whole crop
    # the EDF header's start (the crop's header keeps the shifted date of the PhysioNet file)
    assert d.start_time == "2076-11-06T14:32:59"
    assert d.summary()["renamed_channels"] == [{"channel": "T8-P8", "renamed": "T8-P8#2"}]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        out = write_outputs(d, crop, tmp_path / "o", det=det, png=False)
    rows = [ln.split("\t") for ln in Path(out["events_tsv"]).read_text().splitlines()]
    assert rows[0][5] == "dateTime" and len(rows) == 2 and rows[1][5] == "2076-11-06 14:32:59"


def test_focal_loss_by_hand_and_warmup():
    from biodyn.train.losses import focal_loss, gamma_at

    z = torch.tensor([2.0, -1.0], dtype=torch.float64)
    y = torch.tensor([1.0, 1.0], dtype=torch.float64)
    p = torch.sigmoid(z)
    expect = (0.25 * (1 - p) ** 2 * -torch.log(p)).mean()
    torch.testing.assert_close(focal_loss(z, y, 0.25, 2.0).double(), expect, rtol=1e-6, atol=0)
    bce = torch.nn.functional.binary_cross_entropy_with_logits(z, 1 - y)
    torch.testing.assert_close(focal_loss(z, 1 - y, -1, 0.0).double(), bce, rtol=1e-6, atol=0)
    assert gamma_at(0, 2.0, 10) == 0 and gamma_at(5, 2.0, 10) == 1.0 and gamma_at(50, 2.0, 10) == 2.0
    assert gamma_at(0, 2.0, 0) == 2.0


def test_window_metric_sensitivity_at_10fa():
    from biodyn.metrics.detection import window_metrics

    rng = np.random.default_rng(0)
    t = np.zeros((6, 2560))
    t[:3] = 1
    p = rng.random((6, 2560)) * 0.1 + 0.1
    p[:3] += 0.5  # separable: every seizure window is found at a threshold with no false alarm
    m = window_metrics(p, t, 256.0)
    assert m["sens_at_10fa"] == 1.0 and m["fa_at_10fa"] == 0.0 and m["window_auroc"] == 1.0
    p[3] = 0.95  # one background window above every seizure: 1 FA in 60 s > 10/24h at any threshold
    p[3, :1000] = 0.0  # ... but its event is shorter than the 600 s cap and longer than 3 s
    m = window_metrics(p, t, 256.0)
    assert m["sens_at_10fa"] == 0.0


def test_hysteresis_postprocess():
    from biodyn.metrics.postprocess import probs_to_events

    p = np.array([0.0, 0.8, 0.9, 0.8, 0.79, 0.5, 0.8, 0.0])
    ev = probs_to_events(p, 1.0, threshold=0.86, hysteresis_gap=0.08)
    assert [(e.onset_s, e.duration_s) for e in ev] == [(1.0, 4.0)]  # on at 0.9, off below 0.78
    ev = probs_to_events(p, 1.0, threshold=0.86, hysteresis_gap=0.08, max_duration_s=3.0)
    assert ev == []


@pytest.mark.slow
def test_score_records_report():
    from biodyn.metrics.detection import Scored, mask_events
    from biodyn.systems.seizure.evaluate import score_records

    fs = 8.0
    recs = []
    for k in range(3):
        mask = np.zeros(int(600 * fs), np.int64)
        mask[int((100 + 50 * k) * fs) : int((160 + 50 * k) * fs)] = 1
        probs = np.where(mask > 0, 0.95, 0.05) + np.random.default_rng(k).random(len(mask)) * 0.01
        r = Scored(probs, fs, mask_events(mask, fs), record_id=str(k))
        r.mask = mask
        recs.append(r)
    rep = score_records(recs, recs)
    assert [r["target_fa_per_24h"] for r in rep["operating_points"]] == [10.0, 5.0, 2.5, 1.0]
    assert all(
        r["eval"]["sensitivity"] == 1.0 and r["eval"]["false_alarms"] == 0 for r in rep["operating_points"]
    )
    assert rep["sample_metrics"]["auroc"] == 1.0 and rep["sample_metrics"]["f1"] == 1.0
    d = rep["default_threshold"]
    assert d["overlap"]["hits"] == 3 and d["overlap"]["false_alarms"] == 0
    assert d["taes"]["sensitivity"] == pytest.approx(1.0, abs=0.01)


def test_parse_post():
    from biodyn.errors import ConfigError
    from biodyn.metrics.postprocess import parse_post

    assert parse_post(["opening_samples=21", "merge_gap_s=5", "max_duration_s=none"]) == {
        "opening_samples": 21,
        "merge_gap_s": 5.0,
        "max_duration_s": None,
    }
    with pytest.raises(ConfigError, match="opening_samples"):
        parse_post(["openin=3"])
    with pytest.raises(ConfigError, match="not a number"):
        parse_post(["merge_gap_s=x"])


def test_detect_cli_writes_the_good_recordings_and_exits_3_for_the_others(tmp_path, capsys):
    """Per-file failures (here a recording without the montage's channels) are one error line, exit 3 (a
    RecordingError, as docs/reliability.md lists), after the good recordings' outputs are written."""
    from biodyn.cli import main

    ckpt = _checkpoint(tmp_path, BIPOLAR)
    (tmp_path / "good").mkdir()
    (tmp_path / "bad").mkdir()
    good = _edf(tmp_path / "good", ["Fp1", "F7", "T7", "P7", "O1"]).rename(tmp_path / "good" / "g.edf")
    bad = _edf(tmp_path / "bad", ["Cz", "Pz"]).rename(tmp_path / "bad" / "b.edf")
    code = main(
        [
            "detect",
            str(good),
            str(bad),
            "--checkpoint",
            str(ckpt),
            "--out",
            str(tmp_path / "out"),
            "--no-png",
            "--no-progress",
        ]
    )
    err = capsys.readouterr().err
    lines = [ln for ln in err.splitlines() if ln.startswith("biodyn: error:")]
    assert code == 3 and len(lines) == 1 and "1 of 2 recording(s) failed" in lines[0] and "b.edf" in lines[0]
    assert (tmp_path / "out" / "g.csv_bi").is_file() and not (tmp_path / "out" / "b.csv_bi").exists()


def test_detect_and_szcore_take_a_hub_repository_id(tmp_path, monkeypatch, capsys):
    """Regression: ``--checkpoint org/name`` (a Hub id) failed after the model loaded: load_detector looked
    for a checkpoint at the literal id. The id is resolved once, to its snapshot; served offline from
    huggingface_hub's cache layout (no network)."""
    import shutil

    pytest.importorskip("huggingface_hub")
    from biodyn.cli import main
    from biodyn.models import InputSpec, from_pretrained, save_pretrained
    from biodyn.signal.config import SEIZURE_EEG
    from biodyn.systems.seizure.detect import load_detector

    model = from_pretrained(_checkpoint(tmp_path, BIPOLAR))
    spec = InputSpec(
        channels=BIPOLAR, sfreq=256.0, window_s=2.0, preprocessing=SEIZURE_EEG.to_dict(), threshold=0.3
    )
    export = save_pretrained(model, tmp_path / "export", input_spec=spec)
    commit = "c" * 40
    repo = tmp_path / "hf" / "models--biodyn-test--detector"
    (repo / "snapshots" / commit).mkdir(parents=True)
    for f in export.iterdir():
        shutil.copy(f, repo / "snapshots" / commit / f.name)
    (repo / "refs").mkdir()
    (repo / "refs" / "main").write_text(commit)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "hf"))
    monkeypatch.chdir(tmp_path)  # no local folder named biodyn-test/detector
    det = load_detector("biodyn-test/detector")
    assert det.checkpoint == repo / "snapshots" / commit and det.threshold == 0.3 and det.channels == BIPOLAR
    rec = _edf(tmp_path, BIPOLAR)
    argv = ["detect", rec, "--checkpoint", "biodyn-test/detector", "--out", tmp_path / "o", "--no-png"]
    assert main([str(a) for a in [*argv, "--no-progress"]]) == 0, capsys.readouterr().err
    assert (tmp_path / "o" / "rec.csv_bi").is_file()
    tsv = tmp_path / "out.tsv"
    code = main(["szcore", str(rec), str(tsv), "--checkpoint", "biodyn-test/detector", "--no-progress"])
    assert code == 0, capsys.readouterr().err
    assert tsv.read_text().startswith("onset")
    # a Hub id that is not in the cache (offline): one line naming it, exit 4
    assert main(["detect", str(rec), "--checkpoint", "biodyn-test/nosuch", "--out", str(tmp_path / "p")]) == 4
    assert "biodyn-test/nosuch" in capsys.readouterr().err
