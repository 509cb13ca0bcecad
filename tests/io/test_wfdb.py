import numpy as np
import pytest

from biodyn.errors import ChannelError, RecordingError
from biodyn.io import read_recording, read_wfdb, read_wfdb_annotation_table, read_wfdb_annotations
from biodyn.testing import shared_data


def test_mitbih_100_format_212():
    base = shared_data("wfdb_samples", "100.hea").with_suffix("")
    rec = read_wfdb(base)
    assert rec.channels == ["MLII", "V5"] and rec.fs == 360.0 and rec.data.shape == (2, 650000)
    assert rec.meta["fmt"] == ["212", "212"] and rec.meta["units"] == ["mV", "mV"]
    assert 0.1 < np.std(rec.data[0]) < 2  # millivolts
    _, symbols, _, fs = read_wfdb_annotation_table(base, "atr")
    assert fs == 360
    assert len(symbols) == 2274  # MANIFEST: 2,274 annotations (2239 N, 33 A, 1 V, 1 rhythm "+")
    assert (symbols.count("N"), symbols.count("A"), symbols.count("V")) == (2239, 33, 1)
    ev = read_wfdb_annotations(base, "atr")
    assert ev[0].label == "+ (N" and ev[0].duration_s == 0.0
    assert read_recording(str(base) + ".hea").data.shape == (2, 650000)


def test_challenge_v102s_and_channel_pick():
    base = shared_data("wfdb_samples", "v102s.hea").with_suffix("")
    rec = read_wfdb(base, channels=["PLETH", "II"])
    assert rec.channels == ["PLETH", "II"] and rec.fs == 250.0 and rec.data.shape == (2, 75000)
    with pytest.raises(ChannelError, match="missing channel"):
        read_wfdb(base, channels=["V6"])


def test_ptbxl_format_16():
    rec = read_wfdb(shared_data("ptbxl", "records100", "00000", "00001_lr.hea"))
    assert rec.data.shape == (12, 1000) and rec.fs == 100.0 and rec.meta["fmt"] == ["16"] * 12


def test_chbmit_seizure_annotations():
    samples, symbols, _, fs = read_wfdb_annotation_table(
        shared_data("chbmit", "chb01_03.edf.seizures").with_suffix(""), "seizures"
    )
    assert symbols == ["[", "]"] and fs == 256
    assert (samples / fs).tolist() == [2996.0, 3036.0]  # chb01-summary.txt: 2996 s to 3036 s


def test_written_record_and_truncation(tmp_path):
    import wfdb

    sig = np.random.default_rng(0).standard_normal((500, 2))
    wfdb.wrsamp(
        "rec",
        fs=100,
        units=["mV", "mV"],
        sig_name=["I", "II"],
        p_signal=sig,
        fmt=["16", "16"],
        write_dir=str(tmp_path),
    )
    rec = read_wfdb(tmp_path / "rec")
    np.testing.assert_allclose(rec.data.T, sig, atol=1e-3)
    dat = tmp_path / "rec.dat"
    dat.write_bytes(dat.read_bytes()[:1000])
    with pytest.raises(RecordingError, match=r"rec\.dat: truncated: header says 500 samples"):
        read_wfdb(tmp_path / "rec")
    with pytest.raises(RecordingError, match="header not found"):
        read_wfdb(tmp_path / "missing")
