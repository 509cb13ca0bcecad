"""``biodyn.io.read_recording`` reads any recording and turns a foreign reader's failure into one
``RecordingError`` naming the file (it was ``biodyn detect``'s own wrapper, ``read_input``, before)."""

import numpy as np
import pytest

from biodyn.errors import ChannelError, RecordingError
from biodyn.io import read_recording, write_edf
from biodyn.types import Recording


def test_a_foreign_readers_error_becomes_a_recording_error_naming_the_file(tmp_path, monkeypatch):
    import biodyn.io as io

    def edfio_fails(path, **kw):  # what a third-party reader raises on a file it cannot parse
        raise IndexError("list index out of range")

    monkeypatch.setattr(io, "read_edf", edfio_fails)
    path = tmp_path / "corrupt.edf"
    path.write_bytes(b"0" * 300)
    with pytest.raises(
        RecordingError, match=r"corrupt\.edf: cannot read the recording \(IndexError: list index"
    ):
        read_recording(path)
    hea = tmp_path / "bad.hea"  # the WFDB reader's own error already names the file: unchanged
    hea.write_text("this is not a WFDB header\n")
    with pytest.raises(RecordingError, match=r"bad\.hea: malformed WFDB header"):
        read_recording(hea)


def test_our_own_errors_pass_unchanged_and_the_path_is_recorded(tmp_path):
    rec = Recording(np.zeros((2, 512), np.float32), 256.0, ["Fp1", "Fp2"])
    path = tmp_path / "r.edf"
    write_edf(path, rec)
    assert read_recording(path).meta["path"] == str(path)
    with pytest.raises(ChannelError, match=r"r\.edf: missing channel\(s\) Cz"):  # not re-wrapped
        read_recording(path, channels=["Cz"])
    with pytest.raises(RecordingError, match="file not found"):
        read_recording(tmp_path / "nope")


def _edf(path):
    write_edf(path, Recording(np.arange(512, dtype=np.float32).reshape(2, 256), 128.0, ["C3", "C4"]))
    return path


@pytest.mark.parametrize("name", ["r.edf", "r.EDF", "r.bdf", "r.rec", "r.Rec"])
def test_edf_suffixes_in_any_case(tmp_path, name):
    rec = read_recording(_edf(tmp_path / name))
    assert rec.channels == ["C3", "C4"] and rec.fs == 128.0 and rec.meta["path"] == str(tmp_path / name)


def test_wfdb_by_suffix_or_by_a_record_name_with_a_header(tmp_path):
    import wfdb

    sig = np.arange(20, dtype=float).reshape(10, 2)
    wfdb.wrsamp(
        "w",
        fs=50,
        units=["mV"] * 2,
        sig_name=["I", "II"],
        p_signal=sig,
        fmt=["16"] * 2,
        write_dir=str(tmp_path),
    )
    for name in ("w.hea", "w.dat", "w"):
        rec = read_recording(tmp_path / name)
        assert rec.channels == ["I", "II"] and rec.fs == 50.0 and rec.data.shape == (2, 10)
    with pytest.raises(RecordingError, match=r"x: file not found"):
        read_recording(tmp_path / "x")  # no suffix and no x.hea: not a record
    (tmp_path / "w.txt").write_text("x")  # a header beside it does not make a .txt file a record
    with pytest.raises(RecordingError, match=r"w\.txt: unknown recording format '\.txt'"):
        read_recording(tmp_path / "w.txt")
    with pytest.raises(RecordingError, match=r"y\.txt: file not found"):
        read_recording(tmp_path / "y.txt")


def test_keyword_arguments_reach_the_reader_and_a_callers_type_error_is_not_wrapped(tmp_path):
    path = _edf(tmp_path / "r.edf")
    assert read_recording(path, channels=["C4"]).channels == ["C4"]
    assert read_recording(path, fs=64.0).data.shape == (2, 128)
    with pytest.raises(TypeError):
        read_recording(path, no_such_option=1)


def test_the_path_is_set_when_the_reader_leaves_it_out(tmp_path, monkeypatch):
    import biodyn.io as io

    seen = []

    def reader(path, **kw):
        seen.append((path, kw))
        return Recording(np.zeros((1, 4), np.float32), 4.0, ["Cz"], meta={"format": "x"})

    monkeypatch.setattr(io, "read_edf", reader)
    path = tmp_path / "r.edf"
    rec = read_recording(str(path), fs=2.0)
    assert rec.meta == {"format": "x", "path": str(path)}
    assert seen == [(path, {"fs": 2.0})]  # called with the path as a Path

    def fails(path, **kw):
        raise MemoryError

    monkeypatch.setattr(io, "read_edf", fails)
    with pytest.raises(MemoryError):
        read_recording(path)
