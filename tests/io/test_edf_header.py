"""Header faults, one field at a time: each error names the file and the field, as the reader promises
(``RecordingError`` messages start with the path). Offsets from the EDF specification: header bytes at 184,
records at 236, record duration at 244, signal count at 252; per signal, labels at 256 + 16 i and samples per
record at 256 + 216 ns + 8 i."""

import numpy as np
import pytest

from biodyn.errors import RecordingError
from biodyn.io import read_edf, read_edf_annotations, read_edf_header, write_edf
from biodyn.types import Event, Recording


def _write(tmp_path, **kw):
    rec = Recording(
        np.random.default_rng(0).standard_normal((2, 512)).astype(np.float32),
        128.0,
        ["C3", "C4"],
        [Event(1.0, 0.5, "spike")],
        {"units": ["uV", "mV"]},
    )
    path = tmp_path / "r.edf"
    write_edf(path, rec, **kw)
    return path, bytearray(path.read_bytes())


def _corrupt(tmp_path, raw, start, value, name="bad.edf"):
    out = bytearray(raw)
    out[start : start + len(value)] = value
    path = tmp_path / name
    path.write_bytes(bytes(out))
    return path


@pytest.mark.parametrize(
    ("start", "value", "field"),
    [
        (184, b"x1234567", "header bytes"),
        (236, b"many    ", "number of data records"),
        (244, b"one     ", "data record duration"),
        (252, b"two ", "number of signals"),
    ],
)
def test_non_numeric_fixed_fields_are_named(tmp_path, start, value, field):
    _, raw = _write(tmp_path)
    path = _corrupt(tmp_path, raw, start, value)
    with pytest.raises(RecordingError, match=rf"^{path}: header field '{field}' is not a number"):
        read_edf_header(path)


def test_non_ascii_fields_are_named(tmp_path):
    _, raw = _write(tmp_path)
    ns = int(raw[252:256].decode())
    for start, field in (
        (244, "data record duration"),
        (256, "label"),
        (256 + 216 * ns, "samples per record"),
    ):
        path = _corrupt(tmp_path, raw, start, b"\xe9\xe9")
        with pytest.raises(RecordingError, match=rf"^{path}: header field '{field}' is not ASCII"):
            read_edf_header(path)


def test_signal_count_and_header_size_must_agree(tmp_path):
    _, raw = _write(tmp_path)
    path = _corrupt(tmp_path, raw, 252, b"0   ")  # no signals, and 256 header bytes would be needed
    with pytest.raises(RecordingError, match="header says 0 signals"):
        read_edf_header(path)
    path = _corrupt(tmp_path, raw, 184, b"256     ", "zero.edf")
    path = _corrupt(tmp_path, bytearray(path.read_bytes()), 252, b"0   ", "zero.edf")
    with pytest.raises(RecordingError, match="header says 0 signals and 256 header bytes"):
        read_edf_header(path)
    ns = int(raw[252:256].decode())
    short = tmp_path / "short.edf"
    short.write_bytes(bytes(raw[: 256 + 256 * ns - 10]))
    with pytest.raises(
        RecordingError, match=rf"truncated header: {256 + 256 * ns - 10} of {256 * (ns + 1)} bytes"
    ):
        read_edf_header(short)


def test_labels_and_samples_per_record_are_read_at_their_offsets(tmp_path):
    path, _ = _write(tmp_path)
    hdr = read_edf_header(path)
    assert hdr.labels[:2] == ["C3", "C4"] and hdr.samples_per_record[:2] == [128, 128]


def test_written_units_and_format(tmp_path):
    path, raw = _write(tmp_path)
    assert raw[:1] == b"0"  # EDF, not BDF, by default
    rec = read_edf(path)
    assert rec.meta["units"] == ["uV", "mV"] and rec.meta["format"] == "edf"
    no_units = Recording(
        np.zeros((1, 256), np.float32) + np.arange(256, dtype=np.float32), 128.0, ["Cz"], [], {}
    )
    write_edf(tmp_path / "u.edf", no_units)
    assert read_edf(tmp_path / "u.edf").meta["units"] == ["uV"]  # the default unit
    assert [(e.onset_s, e.label) for e in read_edf_annotations(path)] == [(1.0, "spike")]


def test_read_edf_meta_and_names_by_hand(tmp_path):
    path, _ = _write(tmp_path)
    rec = read_edf(path)
    assert rec.meta["path"] == str(path) and rec.meta["original_fs"] == [128.0, 128.0]
    assert rec.meta["original_channels"] == ["C3", "C4"] and "start_time" in rec.meta
    assert [(e.onset_s, e.duration_s, e.label) for e in rec.events] == [(1.0, 0.5, "spike")]
    assert rec.data.dtype == np.float32 and rec.fs == 128.0
    assert read_edf(path, fs=64.0).fs == 64.0 and read_edf(path, fs=64.0).data.shape == (2, 256)
    from biodyn.io import edf_info

    info = edf_info(path)
    assert info["channels"] == ["C3", "C4"] and info["fs"] == [128.0, 128.0] and info["duration_s"] == 4.0


def test_channel_names_kept_as_written_without_canonical(tmp_path):
    rec = Recording(
        np.random.default_rng(1).standard_normal((2, 256)).astype(np.float32),
        128.0,
        ["EEG FP1-REF", "EEG FP1-REF"],
        [],
        {},
    )
    path = tmp_path / "dup.edf"
    write_edf(path, rec)
    assert read_edf(path, canonical=False).channels == ["EEG FP1-REF", "EEG FP1-REF#2"]
    assert read_edf(path).channels == ["Fp1", "Fp1#2"]
    assert read_edf(path, channels=["EEG FP1-REF"], canonical=False).channels == ["EEG FP1-REF"]


def test_constant_channel_and_no_annotations(tmp_path):
    rec = Recording(np.full((1, 256), 7.0, np.float32), 128.0, ["Cz"], [Event(0.5, 0.0, "x")], {})
    write_edf(tmp_path / "c.edf", rec, annotations=False)
    back = read_edf(tmp_path / "c.edf")
    np.testing.assert_allclose(back.data, 7.0, atol=2 / 65535)  # written with a range of 7 +- 1
    assert back.events == []


def test_record_counts_durations_and_sample_counts_at_their_limits(tmp_path):
    _, raw = _write(tmp_path)
    ns = int(raw[252:256].decode())
    n = int(raw[236:244].decode())
    unknown = read_edf_header(_corrupt(tmp_path, raw, 236, b"-1      ", "unknown.edf"))
    assert unknown.n_records == n  # -1 (still recording): derived from the file size
    with pytest.raises(RecordingError, match="'number of data records' is -2"):
        read_edf_header(_corrupt(tmp_path, raw, 236, b"-2      "))
    for value in (b"0       ", b"-1      ", b"inf     "):
        with pytest.raises(RecordingError, match="'data record duration' is"):
            read_edf_header(_corrupt(tmp_path, raw, 244, value))
    spr_at = 256 + 216 * ns
    with pytest.raises(RecordingError, match=r"'samples per record' of signal 'C3' is 0"):
        read_edf_header(_corrupt(tmp_path, raw, spr_at, b"0       "))
    with pytest.raises(RecordingError, match=r"'samples per record' of signal 'C3' is -3"):
        read_edf_header(_corrupt(tmp_path, raw, spr_at, b"-3      "))
    one = read_edf_header(_corrupt(tmp_path, raw, 244, b"2       ", "two.edf"))
    assert one.record_duration_s == 2.0 and one.n_records == n
