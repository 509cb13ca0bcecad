import numpy as np
import pytest

from biodyn.errors import ChannelError, RecordingError
from biodyn.io import read_edf, read_edf_annotations, read_edf_header, read_recording, write_edf
from biodyn.testing import shared_data
from biodyn.types import Event, Recording


def _rec(fs=256.0, seconds=4, channels=("Fp1", "C3", "O2"), seed=0):
    rng = np.random.default_rng(seed)
    data = (rng.standard_normal((len(channels), int(fs * seconds))) * 50).astype(np.float32)
    ev = [Event(0.5, 1.25, "seiz"), Event(2.0, 0.0, "spike")]
    return Recording(data, fs, list(channels), ev, {"units": ["uV"] * len(channels)})


@pytest.mark.parametrize("bdf", [False, True], ids=["edf", "bdf"])
def test_round_trip_with_annotations(tmp_path, bdf):
    rec = _rec()
    path = tmp_path / ("r.bdf" if bdf else "r.edf")
    write_edf(path, rec, bdf=bdf)
    back = read_edf(path)
    assert back.channels == rec.channels and back.fs == rec.fs and back.data.shape == rec.data.shape
    rng = rec.data.max(1) - rec.data.min(1)
    bits = 24 if bdf else 16
    assert np.all(np.abs(back.data - rec.data).max(1) <= rng / (2**bits - 1) * 1.01)
    assert [(e.onset_s, e.duration_s, e.label) for e in back.events] == [
        (0.5, 1.25, "seiz"),
        (2.0, 0.0, "spike"),
    ]
    assert back.meta["format"] == ("bdf" if bdf else "edf")
    assert read_recording(path).channels == rec.channels


def test_mixed_rates_are_brought_to_one(tmp_path):
    import edfio

    t = np.arange(0, 4, 1 / 256)
    fast = np.sin(2 * np.pi * 3 * t) * 100
    slow = np.sin(2 * np.pi * 3 * np.arange(0, 4, 1 / 128)) * 100
    sig = [
        edfio.EdfSignal(fast, 256, label="EEG FP1-REF", physical_range=(-200, 200)),
        edfio.EdfSignal(slow, 128, label="EEG C3-REF", physical_range=(-200, 200)),
    ]
    edfio.Edf(sig).write(tmp_path / "m.edf")
    rec = read_edf(tmp_path / "m.edf")
    assert rec.fs == 256 and rec.data.shape == (2, 1024) and rec.channels == ["Fp1", "C3"]
    np.testing.assert_allclose(rec.data[1, 100:-100], rec.data[0, 100:-100], atol=1.0)
    low = read_edf(tmp_path / "m.edf", fs=128, channels=["C3"])
    assert low.data.shape == (1, 512)
    assert rec.meta["original_channels"] == ["EEG FP1-REF", "EEG C3-REF"]


def test_truncated_and_lying_files_are_errors(tmp_path):
    path = tmp_path / "r.edf"
    write_edf(path, _rec(seconds=8))
    raw = path.read_bytes()
    (tmp_path / "trunc.edf").write_bytes(raw[: len(raw) - 700])
    with pytest.raises(RecordingError, match=r"trunc\.edf: truncated: header says"):
        read_edf(tmp_path / "trunc.edf")
    lie = bytearray(raw)
    n = int(lie[236:244].decode())
    lie[236:244] = f"{n + 5:<8d}".encode()
    (tmp_path / "lie.edf").write_bytes(bytes(lie))
    with pytest.raises(RecordingError, match=r"lie\.edf: truncated"):
        read_edf(tmp_path / "lie.edf")
    lie[236:244] = f"{n - 2:<8d}".encode()
    (tmp_path / "long.edf").write_bytes(bytes(lie))
    with pytest.raises(RecordingError, match="but the file holds"):
        read_edf(tmp_path / "long.edf")
    bad = bytearray(raw)
    bad[184:192] = b"12345   "
    (tmp_path / "hdr.edf").write_bytes(bytes(bad))
    with pytest.raises(RecordingError, match="header bytes"):
        read_edf_header(tmp_path / "hdr.edf")
    (tmp_path / "tiny.edf").write_bytes(b"0" * 100)
    with pytest.raises(RecordingError, match="shorter than the 256-byte header"):
        read_edf(tmp_path / "tiny.edf")
    with pytest.raises(RecordingError, match=r"not found|cannot read"):
        read_edf(tmp_path / "nope.edf")


def test_unknown_channel_and_nonfinite_write(tmp_path):
    path = tmp_path / "r.edf"
    write_edf(path, _rec())
    with pytest.raises(ChannelError, match=r"r\.edf: missing channel\(s\) Cz"):
        read_edf(path, channels=["Fp1", "Cz"])
    bad = _rec()
    bad.data[0, 3] = np.nan
    with pytest.raises(RecordingError, match="non-finite"):
        write_edf(tmp_path / "nan.edf", bad)
    assert not (tmp_path / "nan.edf").exists()
    with pytest.raises(RecordingError, match="unknown recording format"):
        (tmp_path / "x.txt").write_text("hi")
        read_recording(tmp_path / "x.txt")


def test_eegmmidb_sample():
    path = shared_data("eegmmidb", "S001", "S001R03.edf")
    rec = read_edf(path)
    assert rec.data.shape == (64, 125 * 160) and rec.fs == 160.0
    assert rec.channels[:3] == ["FC5", "FC3", "FC1"] and "Fp1" in rec.channels and "AFz" in rec.channels
    labels = [e.label for e in rec.events]
    assert set(labels) == {"T0", "T1", "T2"} and len(labels) == 30
    assert all(4.0 <= e.duration_s <= 4.3 for e in rec.events)
    r01 = read_edf(shared_data("eegmmidb", "S001", "S001R01.edf"))
    assert r01.duration_s == 60.0


def test_sleep_edf_hypnogram_annotations():
    ev = read_edf_annotations(shared_data("sleep_edf", "SC4001EC-Hypnogram.edf"))
    assert len(ev) == 154
    assert all(e.label.startswith("Sleep stage") or e.label.startswith("Movement") for e in ev)
    assert all(e.duration_s % 30 == 0 for e in ev)
    with pytest.raises(ChannelError, match="annotation-only"):
        read_edf(shared_data("sleep_edf", "SC4001EC-Hypnogram.edf"))


@pytest.mark.parametrize(("record_s", "fs"), [(2.0, 256.0), (0.5, 200.0), (1.0, 128.0)])
def test_rate_with_records_other_than_one_second(tmp_path, record_s, fs):
    """Header rate = samples per record / record duration: a 256 Hz signal in 2 s records has 512 samples
    per record. ``edf_info`` (header only) and ``read_edf`` (edfio) must agree with the rate written."""
    import edfio

    from biodyn import branches
    from biodyn.io import edf_info

    t = np.arange(int(8 * fs)) / fs
    sig = [
        edfio.EdfSignal(
            np.sin(2 * np.pi * 3 * t) * 100, sampling_frequency=fs, label="EEG C3", physical_range=(-200, 200)
        )
    ]
    path = tmp_path / "r.edf"
    edfio.Edf(sig, data_record_duration=record_s).write(path)
    with branches.count() as seen:
        hdr = read_edf_header(path)
        info = edf_info(path)
        rec = read_edf(path)
    assert hdr.record_duration_s == record_s and hdr.samples_per_record[0] == fs * record_s
    assert seen["edf.record_not_1s"] == (3 if record_s != 1 else 0)  # every header read counts
    assert info["fs"] == [fs] and rec.fs == fs
    assert info["duration_s"] == 8.0 and rec.data.shape == (1, int(8 * fs))
