import json

import numpy as np
import pytest

from biodyn.cli import main
from biodyn.datasets import get_corpus, list_corpora
from biodyn.datasets.chbmit import parse_summary
from biodyn.datasets.eegmmidb import run_type
from biodyn.errors import ConfigError, RecordingError
from biodyn.io import write_edf
from biodyn.testing import shared_data
from biodyn.types import Recording

CHB01_SEIZURES = {
    "chb01_03": (2996, 3036),
    "chb01_04": (1467, 1494),
    "chb01_15": (1732, 1772),
    "chb01_16": (1015, 1066),
    "chb01_18": (1720, 1810),
    "chb01_21": (327, 420),
    "chb01_26": (1862, 1963),
}


def test_registry():
    assert set(list_corpora()) == {
        "chbmit",
        "siena",
        "tusz",
        "ptbxl",
        "sleepedf",
        "eegmmidb",
        "mimic_ecg",
        "synthetic",
        "folder",  # your own EDF/BDF/WFDB files with events beside them
        "chbmit_excerpts",  # the bundled 10 s CHB-MIT excerpts
    }
    with pytest.raises(ConfigError, match="dataset"):
        get_corpus("nope", ".")
    with pytest.raises(
        ConfigError, match="sleepedf: sampling_rate=100 given, but the corpus is stored at one rate"
    ):
        get_corpus("sleepedf", ".", sampling_rate=100)


def test_chbmit_summary_and_seizure_files_agree():
    corpus = get_corpus("chbmit", shared_data("chbmit"))
    refs = {r.record_id: r for r in corpus.records()}
    with_seizures = {k: r.meta["seizures"] for k, r in refs.items() if r.meta["seizures"]}
    assert {k: tuple(v[0]) for k, v in with_seizures.items()} == CHB01_SEIZURES
    for k in CHB01_SEIZURES:  # the official .edf.seizures files say the same
        assert corpus.seizures(refs[k]) == [tuple(map(float, CHB01_SEIZURES[k]))]
    s = corpus.summary()
    assert (
        s["labels"]["seizures"] == 7
        and s["records_with_signals"] == 0
        and len(s["missing_signal_files"]) == 42
    )
    assert len(refs["chb01_03"].meta["channels"]) == 23


def test_chbmit_malformed_summary(tmp_path):
    p = tmp_path / "chb99-summary.txt"
    p.write_text(
        "File Name: chb99_01.edf\nNumber of Seizures in File: 1\nSeizure Start Time: 10 seconds\n"
        "File Name: chb99_02.edf\n"
    )
    with pytest.raises(RecordingError, match=r"chb99-summary\.txt: line 4: seizure start 10.0 s has no end"):
        parse_summary(p)
    p.write_text(
        "File Name: chb99_01.edf\nNumber of Seizures in File: 2\nSeizure 1 Start Time: 10 seconds\n"
        "Seizure 1 End Time: 20 seconds\n"
    )
    with pytest.raises(RecordingError, match="declares 2 seizures but lists 1"):
        parse_summary(p)


def test_chbmit_load_from_written_edf(tmp_path):
    from biodyn.datasets.chbmit import CHANNELS

    (tmp_path / "chb99").mkdir()
    (tmp_path / "chb99" / "chb99-summary.txt").write_text(
        "Channels in EDF Files:\n"
        + "".join(f"Channel {i + 1}: {c.upper()}\n" for i, c in enumerate(CHANNELS))
        + "\nFile Name: chb99_01.edf\nNumber of Seizures in File: 1\nSeizure Start Time: 2 seconds\n"
        "Seizure End Time: 5 seconds\n"
    )
    data = np.random.default_rng(0).standard_normal((len(CHANNELS), 256 * 8)).astype(np.float32)
    write_edf(tmp_path / "chb99" / "chb99_01.edf", Recording(data, 256.0, [c.upper() for c in CHANNELS]))
    corpus = get_corpus("chbmit", tmp_path)
    ref = corpus.records()[0]
    rec = corpus.load(ref)
    y = corpus.target(ref, rec).per_sample
    assert rec.channels == list(CHANNELS) and y.sum() == 3 * 256 and y[2 * 256] == 1 and y[2 * 256 - 1] == 0


def test_chbmit_subject_is_the_person_not_the_case(tmp_path):
    """Regression: the subject was the record id's part before ``_``, so chb17a / chb17b (one patient's files)
    were two subjects and chb21 (chb01's patient, recorded later) a third; a patient split could then hold
    one person on both sides. EDFs named chb17a_NN.edf are found under chb17/."""
    from biodyn.datasets.chbmit import case_of, subject_of

    assert [case_of(n) for n in ("chb17a_03.edf", "chb17c_02", "chb01_03", "chb21", "CHB05_01")] == [
        "chb17",
        "chb17",
        "chb01",
        "chb21",
        "chb05",
    ]
    assert [subject_of(n) for n in ("chb21_05", "chb17b_57.edf", "chb01_03", "chb02")] == [
        "chb01",
        "chb17",
        "chb01",
        "chb02",
    ]
    for case, files in {
        "chb01": ["chb01_03"],
        "chb17": ["chb17a_03", "chb17b_57"],
        "chb21": ["chb21_19"],
    }.items():
        (tmp_path / f"{case}-summary.txt").write_text(
            "".join(f"File Name: {f}.edf\nNumber of Seizures in File: 0\n" for f in files)
        )
    (tmp_path / "chb17").mkdir()
    (tmp_path / "chb17" / "chb17a_03.edf").write_bytes(b"")
    refs = {r.record_id: r for r in get_corpus("chbmit", tmp_path).records()}
    assert {k: r.subject for k, r in refs.items()} == {
        "chb01_03": "chb01",
        "chb17a_03": "chb17",
        "chb17b_57": "chb17",
        "chb21_19": "chb01",
    }
    assert refs["chb21_19"].meta["case"] == "chb21" and refs["chb17b_57"].meta["case"] == "chb17"
    assert refs["chb17a_03"].path == tmp_path / "chb17" / "chb17a_03.edf"
    ex = tmp_path / "npy_excerpts" / "chb21" / "ictal"  # the bundled excerpts' reader, same rule
    ex.mkdir(parents=True)
    np.save(ex / "chb21_19_ictal.npy", np.zeros((23, 8)))
    (ref,) = get_corpus("chbmit_excerpts", tmp_path).records()
    assert (ref.subject, ref.split, ref.meta["case"]) == ("chb01", "train", "chb21")


@pytest.mark.slow
def test_ptbxl_counts_and_folds():
    corpus = get_corpus("ptbxl", shared_data("ptbxl"))
    s = corpus.summary()
    assert s["label_counts"] == {"NORM": 297, "MI": 73, "STTC": 96, "CD": 78, "HYP": 40, "no_class": 12}
    assert set(s["folds"]) == set(range(1, 11)) and s["records"] == 500
    refs = corpus.records()
    assert {r.split for r in refs} == {"train", "val", "test"}
    rec = corpus.load(refs[0])
    assert rec.data.shape == (12, 1000)
    t = corpus.target(refs[0], rec)
    assert t.per_record.tolist() == [1, 0, 0, 0, 0]  # ecg_id 1 is NORM
    hr = get_corpus("ptbxl", shared_data("ptbxl"), sampling_rate=500)
    assert len(hr.records()) == 45 and hr.load(hr.records()[0]).fs == 500
    # windows at a rate: the lowest stored copy at or above it (never upsampled from records100/)
    rate = {
        fs: get_corpus("ptbxl", shared_data("ptbxl"), fs=fs).sampling_rate for fs in (50, 100, 160, 500, 1e3)
    }
    assert rate == {50: 100, 100: 100, 160: 500, 500: 500, 1e3: 500}
    assert get_corpus("ptbxl", shared_data("ptbxl"), fs=500, sampling_rate=100).sampling_rate == 100


def test_eegmmidb_runs_and_labels():
    corpus = get_corpus("eegmmidb", shared_data("eegmmidb"))
    refs = corpus.records()
    assert len(refs) == 14 and {r.subject for r in refs} == {"S001"}
    assert run_type(3)["map"]["T1"] == "left_fist" and run_type(5)["map"]["T2"] == "both_feet"
    assert run_type(4)["imagined"] and not run_type(7)["imagined"]
    r4 = next(r for r in refs if r.meta["run"] == 4)
    rec = corpus.load(r4)
    assert rec.data.shape == (64, 20000) and {e.label for e in rec.events} == {
        "rest",
        "left_fist",
        "right_fist",
    }
    y = corpus.target(r4, rec).per_sample
    assert set(np.unique(y)) <= {-1, 0, 1, 2}
    assert sum(s["label_counts"][k] for s in [corpus.summary()] for k in ("left_fist", "right_fist")) == 90


def test_sleepedf_from_hypnogram_only():
    s = get_corpus("sleepedf", shared_data("sleep_edf")).summary()
    assert s["records_with_signals"] == 0 and s["missing_signal_files"][0].endswith("SC4001E0-PSG.edf")
    lc = s["label_counts"]
    assert lc["N3"] > 0 and lc["REM"] > 0 and sum(lc.values()) * 30 > 20 * 3600


def test_tusz_tree(tmp_path):
    from biodyn.montage import TEN_TWENTY_19

    d = tmp_path / "edf" / "dev" / "aaaaaxyz" / "s001_2015" / "01_tcp_ar"
    d.mkdir(parents=True)
    names = [
        f"EEG {c.upper()}-REF"
        for c in (
            "FP1",
            "FP2",
            "F7",
            "F3",
            "FZ",
            "F4",
            "F8",
            "T3",
            "C3",
            "CZ",
            "C4",
            "T4",
            "T5",
            "P3",
            "PZ",
            "P4",
            "T6",
            "O1",
            "O2",
        )
    ]
    data = np.random.default_rng(1).standard_normal((19, 250 * 20)).astype(np.float32)
    write_edf(d / "aaaaaxyz_s001_t000.edf", Recording(data, 250.0, names))
    csv = "# version = csv_v1.0.0\n# duration = 20.0000 secs\n#\nchannel,start_time,stop_time,label,confidence\n"
    (d / "aaaaaxyz_s001_t000.csv_bi").write_text(csv + "TERM,0.0,4.0,bckg,1.0\nTERM,4.0,9.5,seiz,1.0\n")
    corpus = get_corpus("tusz", tmp_path / "edf")
    ref = corpus.records()[0]
    assert ref.split == "dev" and ref.subject == "aaaaaxyz" and ref.meta["montage"] == "01_tcp_ar"
    rec = corpus.load(ref)
    assert rec.channels == list(TEN_TWENTY_19)
    y = corpus.target(ref, rec).per_sample
    assert y.sum() == round(5.5 * 250)
    (d / "aaaaaxyz_s001_t000.csv_bi").write_text(csv + "TERM,4.0,9.5,sez,1.0\n")
    with pytest.raises(RecordingError, match=r"csv_bi: unknown label\(s\) sez"):
        corpus.load(ref)
    (d / "aaaaaxyz_s001_t000.csv_bi").write_text(csv + "TERM,4.0,3.5,seiz,1.0\n")
    with pytest.raises(RecordingError, match="line 5: invalid interval"):
        corpus.load(ref)
    (d / "aaaaaxyz_s001_t000.csv_bi").write_text(csv.replace("20.0000", "400.0") + "TERM,4.0,5,seiz,1.0\n")
    with pytest.raises(RecordingError, match="disagrees"):
        corpus.load(ref)


def test_mimic_tree(tmp_path):
    import wfdb

    d = tmp_path / "files" / "p1000" / "p10000032" / "s40689238"
    d.mkdir(parents=True)
    sig = np.random.default_rng(2).standard_normal((5000, 12))
    leads = ["I", "II", "III", "aVR", "aVF", "aVL", "V1", "V2", "V3", "V4", "V5", "V6"]
    wfdb.wrsamp(
        "40689238", fs=500, units=["mV"] * 12, sig_name=leads, p_signal=sig, fmt=["16"] * 12, write_dir=str(d)
    )
    (tmp_path / "record_list.csv").write_text(
        "subject_id,study_id,file_name,ecg_time,path\n"
        "10000032,40689238,40689238,2180-07-23 08:44:00,files/p1000/p10000032/s40689238/40689238\n"
        "10000033,40689239,40689239,2180-07-23 08:44:00,files/p1000/p10000033/s40689239/40689239\n"
    )
    corpus = get_corpus("mimic_ecg", tmp_path)
    refs = corpus.records()
    assert [r.record_id for r in refs] == ["40689238"]  # the second row has no files
    rec = corpus.load(refs[0])
    assert rec.data.shape == (12, 5000) and rec.fs == 500
    assert corpus.summary()["hours"] == pytest.approx(10 / 3600, abs=1e-4)


def test_synthetic_is_deterministic():
    a, b = get_corpus("synthetic"), get_corpus("synthetic")
    ra, rb = a.load(a.records()[1]), b.load(b.records()[1])
    np.testing.assert_array_equal(ra.data, rb.data)
    y = a.target(a.records()[1], ra).per_sample
    assert 0 < y.mean() < 0.5 and len(ra.events) == 2


@pytest.mark.slow
def test_info_cli_json(tmp_path, capsys):
    root = shared_data("ptbxl")
    assert main(["info", "ptbxl", "--root", str(root), "--json", str(tmp_path / "i.json")]) == 0
    out = json.loads((tmp_path / "i.json").read_text())
    assert out["label_counts"]["NORM"] == 297
    assert "NORM: 297" in capsys.readouterr().out
    assert main(["info", "chbmit", "--root", str(shared_data("chbmit"))]) == 0
    assert "label files only" in capsys.readouterr().out
