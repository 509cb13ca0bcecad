"""Siena Scalp EEG: seizure lists as PhysioNet writes them, EDFs with the corpus' real header, the cache."""

import datetime
import json

import numpy as np
import pytest

from biodyn.cli import main
from biodyn.datasets import get_corpus
from biodyn.datasets.siena import clock_seconds, edf_name, parse_seizure_list
from biodyn.errors import RecordingError

# The head of PhysioNet's Seizures-list-PN00.txt, verbatim (channel lines end in spaces and CR)
PN00_LIST = (
    "PN00\n\nData Sampling Rate: 512 Hz\n\nChannels in EDF files:\n"
    "Channel 1: Fp1      \r\nChannel 2: F3      \r\nChannel 33: EKG 1    \r\nChannel 34: EKG 2\r\n\n\n"
    "Seizure n 1\nFile name: PN00-1.edf\nRegistration start time: 19.39.33\nRegistration end time:  20.22.58\n"
    "Seizure start time: 19.58.36\nSeizure end time: 19.59.46\n\n"
    "Seizure n 2 \nFile name: PN00-2.edf\nRegistration start time:  02.18.17\nRegistration end time:  02.56.19\n"
    "Seizure start time: 02.38.37\nSeizure end time: 02.39.31\n\n"
    "Seizure n 3\nFile name: PN00-3.edf\nRegistration start time: 18.15.44\nRegistration end time: 18.57.13\n"
    "Seizure start time: 18.28.29\nSeizure end time: 19.29.29\n\n\n"
)
# the EEG labels of PN00's EDFs, in file order, then the other channels
EEG_LABELS = [
    "Fp1",
    "F3",
    "C3",
    "P3",
    "O1",
    "F7",
    "T3",
    "T5",
    "Fc1",
    "Fc5",
    "Cp1",
    "Cp5",
    "F9",
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
    "Fc2",
    "Fc6",
    "Cp2",
    "Cp6",
    "F10",
]


def test_seizure_list_as_physionet_writes_it(tmp_path):
    p = tmp_path / "Seizures-list-PN00.txt"
    p.write_text(PN00_LIST)
    lst = parse_seizure_list(p)
    # hand-worked: 19:58:36 - 19:39:33 = 19 min 3 s; 02:38:37 - 02:18:17 = 20 min 20 s
    assert lst.seizures["PN00-1.edf"] == [(1143.0, 1213.0)]
    assert lst.seizures["PN00-2.edf"] == [(1220.0, 1274.0)]
    # the erratum: 19.29.29 is 18.29.29 (a 60 s seizure, not 61 min)
    assert lst.seizures["PN00-3.edf"] == [(765.0, 825.0)]
    assert lst.registration_start["PN00-1.edf"] == 19 * 3600 + 39 * 60 + 33


def test_seizure_list_variants(tmp_path):
    """The PN01 form (one file, two seizures, Start/End time without 'Seizure'), a midnight crossing, ':' in
    times, a space inside a time, a letter O in a file name, and a block sharing the previous block's start."""
    p = tmp_path / "Seizures-list-PN01.txt"
    p.write_text(
        "File name: PN01.edf\nRegistration start time: 19.00.44\nRegistration end time: 07.05.58\n\n"
        "Seizure n 1\nStart time: 21:51:02\nEnd time: 21:51:56\n\nSeizure n 2\nStart time: 07.53.17\n"
        "End time: 07.54.31\n\nFile name: PNO6-2.edf\nRegistration start time:1 6.49.25\n"
        "Seizure start time: 16.50.00\nSeizure end time:16.51.00\n\nFile name: PNO6-2.edf\n"
        "Seizure start time: 17.00.00\nSeizure end time: 17.00.30\n"
    )
    lst = parse_seizure_list(p)
    assert lst.seizures["PN01-1.edf"] == [(10218.0, 10272.0), (46353.0, 46427.0)]  # 07:53:17 is the next day
    assert lst.seizures["PN06-2.edf"] == [(35.0, 95.0), (635.0, 665.0)]
    assert [edf_name(n) for n in ("PN11-.edf", "PNO6-4.edf", "PN10-7.8.9.edf", "PN03-2.edf")] == [
        "PN11-1.edf",
        "PN06-4.edf",
        "PN10-7.8.9.edf",
        "PN03-2.edf",
    ]
    assert clock_seconds(" 1 6.49.25") == 16 * 3600 + 49 * 60 + 25
    p.write_text("File name: PN02-1.edf\nRegistration start time: 10.00.00\nSeizure start time: 10.01.00\n")
    with pytest.raises(RecordingError, match=r"line 3: seizure start has no end time"):
        parse_seizure_list(p)
    p.write_text("File name: PN02-1.edf\nSeizure start time: 10.01.00\nSeizure end time: 10.02.00\n")
    with pytest.raises(RecordingError, match=r"PN02-1\.edf has no registration start time"):
        parse_seizure_list(p)
    p.write_text("File name: PN02-1.edf\nRegistration start time: 10.00.00\nSeizure start time: 10.61.00\n")
    with pytest.raises(RecordingError, match=r"line 3: 10\.61\.00 is not a time of day"):
        parse_seizure_list(p)


def write_siena_edf(path, seconds, start, seed=0):
    """An EDF+C written the way Siena's are: ``EEG Fp1``-style labels at 512 Hz, ``EKG EKG``, SPO2, HR,
    auxiliary ``1``/``2`` and ``MK``; anonymised patient field; the registration clock time as start time."""
    import edfio

    rng = np.random.default_rng(seed)
    n = int(seconds * 512)
    signals = [
        edfio.EdfSignal(
            rng.standard_normal(n) * 30,
            512,
            label=f"EEG {c}",
            physical_dimension="uV",
            physical_range=(-4096.0, 4095.875),
            transducer_type="AC Transducer of 17",
            prefiltering="HP:1.591549Hz LP:30Hz N:50Hz",
        )
        for c in EEG_LABELS
    ]
    signals.append(
        edfio.EdfSignal(
            rng.standard_normal(n) * 300,
            512,
            label="EKG EKG",
            physical_dimension="uV",
            physical_range=(-499712.0, 499696.7),
        )
    )
    for lab, unit in (("SPO2", "%"), ("HR", "bpm"), ("1", "uV"), ("2", "uV"), ("MK", "uV")):
        signals.append(
            edfio.EdfSignal(
                np.zeros(n), 512, label=lab, physical_dimension=unit, physical_range=(-32768.0, 32767.0)
            )
        )
    edf = edfio.Edf(
        signals,
        patient=edfio.Patient(),
        starttime=start,
        recording=edfio.Recording(startdate=datetime.date(2016, 1, 1)),
        data_record_duration=1,
    )
    path.parent.mkdir(parents=True, exist_ok=True)
    edf.write(path)


def siena_fixture(root):
    """PN05 with two files: one whose seizure falls after midnight (25-33 s into the file), one listed under
    the name 'PNO5-2.edf' (letter O, trailing space)."""
    write_siena_edf(root / "PN05" / "PN05-1.edf", 40, datetime.time(23, 59, 40))
    write_siena_edf(root / "PN05" / "PN05-2.edf", 30, datetime.time(3, 0, 0), seed=1)
    (root / "PN05" / "Seizures-list-PN05.txt").write_text(
        "PN05\n\nData Sampling Rate: 512 Hz\n\nSeizure n 1\nFile name: PN05-1.edf\n"
        "Registration start time: 23.59.40\nRegistration end time: 00.00.20\nSeizure start time: 00.00.05\n"
        "Seizure end time: 00.00.13\n\nSeizure n 2\nFile name: PNO5-2.edf \nRegistration start time: 03.00.00\n"
        "Registration end time: 03.00.30\nSeizure start time: 03.00.02\nSeizure end time: 03.00.04\n"
    )
    (root / "subject_info.csv").write_text(
        "patient_id, age_years, gender, seizure, localization, lateralization, eeg_channel, number_seizures, "
        "rec_time_minutes\nPN05,51,Female,IAS,T,L,29,2,1\n"
    )


def test_siena_reads_labels_and_caches(tmp_path):
    from biodyn.cache import WindowDataset, build_cache
    from biodyn.montage import TEN_TWENTY_19

    siena_fixture(tmp_path)
    write_siena_edf(tmp_path / "PN07" / "PN07-1.edf", 10, datetime.time(1, 0, 0))  # no seizure list
    corpus = get_corpus("siena", tmp_path)
    refs = {r.record_id: r for r in corpus.records()}
    assert sorted(refs) == ["PN05-1", "PN05-2", "PN07-1"]
    assert refs["PN05-1"].subject == "PN05" and refs["PN05-1"].meta["seizures"] == [(25.0, 33.0)]
    assert refs["PN05-2"].meta["seizures"] == [(2.0, 4.0)]  # listed as PNO5-2.edf
    rec = corpus.load(refs["PN05-1"])
    assert rec.fs == 512.0 and rec.channels == list(TEN_TWENTY_19)  # T3 -> T7, T5 -> P7, ...
    assert rec.data.shape == (19, 40 * 512)
    y = corpus.target(refs["PN05-1"], rec).per_sample
    assert y.sum() == 8 * 512 and y[25 * 512] == 1 and y[25 * 512 - 1] == 0
    with pytest.raises(RecordingError, match=r"no Seizures-list-PN07\.txt"):
        corpus.load(refs["PN07-1"])

    s = corpus.summary()
    assert s["records"] == 3 and s["subjects"] == 2 and s["rates_hz"] == [512.0]
    assert {"EKG EKG", "SPO2", "T7", "Fp1"} <= set(s["channels"])
    assert s["labels"] == {"seizures": 2, "files_with_seizures": 2, "seizure_seconds": 10.0}
    assert s["records_without_seizure_list"] == ["PN07-1"]
    assert main(["info", "siena", "--root", str(tmp_path), "--json", str(tmp_path / "i.json")]) == 0
    assert json.loads((tmp_path / "i.json").read_text())["hours"] == pytest.approx(80 / 3600, abs=1e-4)

    rep = build_cache(corpus, tmp_path / "cache", window_s=10.0, stride_s=10.0, progress=False)
    assert sorted(rep.built) == ["PN05-1", "PN05-2"] and "PN07-1" in rep.failed
    ds = WindowDataset(tmp_path / "cache")
    fs = corpus.default_preprocess.fs
    by_rec = {}
    for i in range(len(ds)):
        it = ds[i]
        by_rec.setdefault(it["meta"]["record_id"], []).append(it["mask"].numpy())
    mask = np.concatenate(by_rec["PN05-1"])
    assert len(by_rec["PN05-1"]) == 4 and mask.sum() == pytest.approx(8 * fs, abs=2)
    assert mask[round(25 * fs) + 1] == 1 and mask[round(25 * fs) - 2] == 0
    rep2 = build_cache(corpus, tmp_path / "cache", window_s=10.0, stride_s=10.0, progress=False)
    assert sorted(rep2.skipped) == ["PN05-1", "PN05-2"]


def test_siena_is_in_the_download_list():
    from biodyn.datasets.download import SLUGS

    assert SLUGS["siena"] == "siena-scalp-eeg/1.0.0"
