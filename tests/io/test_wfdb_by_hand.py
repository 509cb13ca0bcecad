"""WFDB records written by hand: a header typed out in full and a signal file of a known number of bytes.

The size check is worked from the WFDB format table (bits per sample: 8, 16, 24, 32, 61 (16, big-endian),
80 (8), 160 (16), 212 (12), 310 and 311 (three samples in 32 bits)): a file of exactly
``ceil(frames * bits per frame / 8)`` bytes is whole, one byte less is truncated."""

import math

import numpy as np
import pytest

from biodyn.errors import ChannelError, RecordingError
from biodyn.io import (
    read_recording,
    read_wfdb,
    read_wfdb_annotation_table,
    read_wfdb_annotations,
    wfdb_info,
)

BITS = {
    "8": 8,
    "16": 16,
    "24": 24,
    "32": 32,
    "61": 16,
    "80": 8,
    "160": 16,
    "212": 12,
    "310": 32 / 3,
    "311": 32 / 3,
}


def _record(folder, name, frames, signals, data: bytes | dict, header_tail=""):
    """Write ``name.hea`` for ``signals`` = [(file, fmt, label), ...] with ``frames`` samples per signal
    (``None``: the header gives no length) and the signal file(s) ``data`` (bytes of ``name.dat``, or
    ``{file: bytes}``)."""
    n = "" if frames is None else f" {frames}"
    lines = [f"{name} {len(signals)} 100{n}{header_tail}"]
    lines += [f"{f} {fmt} 10/mV 10 0 0 0 0 {label}" for f, fmt, label in signals]
    (folder / f"{name}.hea").write_text("\n".join(lines) + "\n")
    for f, b in (data if isinstance(data, dict) else {f"{name}.dat": data}).items():
        (folder / f).write_bytes(b)
    return folder / name


@pytest.mark.parametrize("fmt", sorted(BITS, key=int))
def test_signal_file_size_per_format(tmp_path, fmt):
    """Six frames of two signals in one file: a whole file reads, one byte short is named as truncated."""
    need = math.ceil(6 * 2 * BITS[fmt] / 8)
    sig = [("r.dat", fmt, "A"), ("r.dat", fmt, "B")]
    rec = read_wfdb(_record(tmp_path, "r", 6, sig, b"\x11" * need))
    assert rec.data.shape == (2, 6) and rec.meta["fmt"] == [fmt, fmt] and np.isfinite(rec.data).all()
    _record(tmp_path, "r", 6, sig, b"\x11" * (need - 1))
    with pytest.raises(
        RecordingError,
        match=rf"r\.dat: truncated: header says 6 samples \({need} bytes\), file holds {need - 1}$",
    ):
        read_wfdb(tmp_path / "r")


def test_size_rounds_up_to_whole_bytes(tmp_path):
    """Format 212, one signal, three samples: 36 bits need 5 bytes (4.5 rounded up), so 4 bytes are short."""
    sig = [("r.dat", "212", "A")]
    assert read_wfdb(_record(tmp_path, "r", 3, sig, bytes(5))).data.shape == (1, 3)
    _record(tmp_path, "r", 3, sig, bytes(4))
    with pytest.raises(RecordingError, match=r"truncated: header says 3 samples \(5 bytes\), file holds 4"):
        read_wfdb(tmp_path / "r")


def test_samples_per_frame_count_in_the_size(tmp_path):
    """``16x2``: two samples of A per frame and one of B, 48 bits a frame: 6 frames need 36 bytes."""
    sig = [("m.dat", "16x2", "A"), ("m.dat", "16", "B")]
    rec = read_wfdb(_record(tmp_path, "m", 6, sig, np.arange(18, dtype="<i2").tobytes()))
    assert rec.data.shape == (2, 6) and rec.channels == ["A", "B"]
    np.testing.assert_allclose(rec.data[1], [0.2, 0.5, 0.8, 1.1, 1.4, 1.7], rtol=1e-6)  # B: every third, /10
    _record(tmp_path, "m", 6, sig, bytes(35))
    with pytest.raises(RecordingError, match=r"truncated: header says 6 samples \(36 bytes\), file holds 35"):
        read_wfdb(tmp_path / "m")


def test_each_signal_file_is_checked_on_its_own(tmp_path):
    sig = [("a.dat", "16", "A"), ("b.dat", "80", "B")]
    files = {"a.dat": bytes(12), "b.dat": bytes(6)}  # 6 samples: 12 bytes of format 16, 6 of format 80
    rec = read_wfdb(_record(tmp_path, "two", 6, sig, files))
    assert rec.data.shape == (2, 6)
    _record(tmp_path, "two", 6, sig, {"a.dat": bytes(12), "b.dat": bytes(5)})
    with pytest.raises(
        RecordingError, match=r"b\.dat: truncated: header says 6 samples \(6 bytes\), file holds 5"
    ):
        read_wfdb(tmp_path / "two")
    _record(tmp_path, "two", 6, sig, {"a.dat": bytes(11), "b.dat": bytes(6)})
    with pytest.raises(
        RecordingError, match=r"a\.dat: truncated: header says 6 samples \(12 bytes\), file holds 11"
    ):
        read_wfdb(tmp_path / "two")
    (tmp_path / "a.dat").write_bytes(bytes(12))
    (tmp_path / "b.dat").unlink()
    with pytest.raises(RecordingError, match=rf"^{tmp_path / 'b.dat'}: WFDB signal file not found"):
        read_wfdb(tmp_path / "two")


def test_a_header_without_a_length_is_not_size_checked(tmp_path):
    """No signal length in the header: wfdb reads what the file holds (7 samples of format 16 here)."""
    base = _record(tmp_path, "n", None, [("n.dat", "16", "A")], np.arange(7, dtype="<i2").tobytes())
    rec = read_wfdb(base)
    np.testing.assert_allclose(rec.data, [np.arange(7) / 10], rtol=1e-6)


def test_wfdb_info_measures_a_record_whose_header_gives_no_length(tmp_path):
    """The length is optional in a WFDB header: the signal file's size gives it, in whole frames (here two
    signals of format 212, 24 bits a frame: 21 bytes hold 7 frames, 22 bytes still 7, 24 bytes 8)."""
    sig = [("n.dat", "212", "A"), ("n.dat", "212", "B")]
    for size, frames in ((21, 7), (22, 7), (24, 8), (0, 0)):
        base = _record(tmp_path, "n", None, sig, bytes(size))
        assert wfdb_info(base) == {"channels": ["A", "B"], "fs": [100.0], "duration_s": frames / 100}
    spf = [("s.dat", "16x2", "A"), ("t.dat", "16", "B")]  # 32 bits a frame in s.dat, 16 in t.dat
    base = _record(tmp_path, "s", None, spf, {"s.dat": bytes(40), "t.dat": bytes(18)})
    assert wfdb_info(base)["duration_s"] == 0.09  # the shorter file: 9 frames of t.dat (10 of s.dat)
    (tmp_path / "t.dat").unlink()
    assert wfdb_info(base)["duration_s"] == 0.1  # a missing file is not measured
    (tmp_path / "s.dat").unlink()
    with pytest.raises(
        RecordingError, match=rf"^{tmp_path / 's.hea'}: the header gives no signal length and no"
    ):
        wfdb_info(base)
    (tmp_path / "z.hea").write_text("z 0 100\n")  # no signals at all
    with pytest.raises(RecordingError, match="the header gives no signal length"):
        wfdb_info(tmp_path / "z")


def test_one_sample_is_a_recording(tmp_path):
    rec = read_wfdb(_record(tmp_path, "one", 1, [("one.dat", "16", "A")], np.array([30], "<i2").tobytes()))
    assert rec.data.shape == (1, 1) and rec.data[0, 0] == pytest.approx(3.0)


def test_record_named_with_or_without_suffix_and_meta(tmp_path):
    sig = [("d.dat", "16", "I"), ("d.dat", "16", "II")]
    data = np.array([[10, -20], [30, 40], [50, 60]], "<i2").tobytes()
    base = _record(tmp_path, "d", 3, sig, data, header_tail=" 10:20:30 01/02/2003")
    with open(tmp_path / "d.hea", "a") as f:
        f.write("# age: 50\n")
    for name in (base, tmp_path / "d.hea", tmp_path / "d.dat", str(base)):
        rec = read_wfdb(name)
        assert rec.channels == ["I", "II"] and rec.fs == 100.0 and isinstance(rec.fs, float)
        np.testing.assert_allclose(rec.data, [[1.0, 3.0, 5.0], [-2.0, 4.0, 6.0]], rtol=1e-6)
        assert rec.data.dtype == np.float32 and rec.data.flags["C_CONTIGUOUS"]
    assert rec.meta == {
        "path": str(base),
        "format": "wfdb",
        "units": ["mV", "mV"],
        "fmt": ["16", "16"],
        "comments": ["age: 50"],
        "original_channels": ["I", "II"],
        "start_time": "2003-02-01 10:20:30",
    }
    picked = read_wfdb(base, channels=["II"])
    assert picked.channels == ["II"] and picked.meta["original_channels"] == ["II"]
    np.testing.assert_allclose(picked.data, [[-2.0, 4.0, 6.0]], rtol=1e-6)
    undated = read_wfdb(_record(tmp_path, "u", 3, sig, data))
    assert undated.meta["start_time"] is None and undated.meta["comments"] == []
    assert read_recording(tmp_path / "d.dat").channels == ["I", "II"]
    assert read_recording(base).meta["path"] == str(base)  # a record name without suffix


def test_missing_channels_and_headers_are_named(tmp_path):
    base = _record(tmp_path, "d", 3, [("d.dat", "16", "I"), ("d.dat", "16", "II")], bytes(12))
    with pytest.raises(
        ChannelError, match=rf"^{tmp_path / 'd.hea'}: missing channel\(s\) V1, V2; record has I, II"
    ):
        read_wfdb(base, channels=["I", "V1", "V2"])
    with pytest.raises(RecordingError, match=rf"^{tmp_path / 'x.hea'}: WFDB header not found"):
        read_wfdb(tmp_path / "x.dat")
    (tmp_path / "bad.hea").write_text("not a header at all\n")
    with pytest.raises(RecordingError, match=rf"^{tmp_path / 'bad.hea'}: malformed WFDB header"):
        read_wfdb(tmp_path / "bad")
    with pytest.raises(RecordingError, match=rf"^{tmp_path / 'bad.hea'}: malformed or missing WFDB header"):
        wfdb_info(tmp_path / "bad.hea")
    with pytest.raises(RecordingError, match=rf"^{tmp_path / 'nope.hea'}: malformed or missing WFDB header"):
        wfdb_info(tmp_path / "nope")


def test_wfdb_info_from_the_header_alone(tmp_path):
    base = _record(
        tmp_path, "i", 250, [("i.dat", "16", "I"), ("i.dat", "16", "V5")], b""
    )  # no samples needed
    for name in (base, tmp_path / "i.hea", tmp_path / "i.dat"):
        info = wfdb_info(name)
        assert info == {"channels": ["I", "V5"], "fs": [100.0], "duration_s": 2.5}
        assert isinstance(info["fs"][0], float)


def _annotated(tmp_path, header=True, fs=None):
    import wfdb

    if header:
        _record(tmp_path, "a", 1000, [("a.dat", "16", "I")], bytes(2000))
    kw = {} if fs is None else {"fs": fs}
    wfdb.wrann(
        "a",
        "tst",
        np.array([0, 250, 999]),
        symbol=["N", "+", "V"],
        aux_note=["", "(AFIB", "  (N\x00"],
        write_dir=str(tmp_path),
        **kw,
    )
    return tmp_path / "a"


def test_annotations_by_hand(tmp_path):
    base = _annotated(tmp_path, fs=250)
    samples, symbols, aux, fs = read_wfdb_annotation_table(base, "tst")
    assert samples.dtype == np.int64 and samples.tolist() == [0, 250, 999]
    assert symbols == ["N", "+", "V"] and aux == ["", "(AFIB", "(N"] and fs == 250  # NULs and spaces dropped
    ev = read_wfdb_annotations(base, "tst")
    assert [(e.onset_s, e.duration_s, e.label, e.channels) for e in ev] == [
        (0.0, 0.0, "N", None),
        (1.0, 0.0, "+ (AFIB", None),
        (3.996, 0.0, "V (N", None),
    ]
    assert [e.onset_s for e in read_wfdb_annotations(base, "tst", fs=500.0)] == [0.0, 0.5, 1.998]  # fs wins
    assert [e.onset_s for e in read_wfdb_annotations(tmp_path / "a.hea", "tst")] == [0.0, 1.0, 3.996]


def test_annotation_rate_from_the_header_or_the_caller(tmp_path):
    base = _annotated(tmp_path)  # no rate in the annotation file: the header's 100 Hz
    assert read_wfdb_annotation_table(base, "tst")[3] == 100
    assert [e.onset_s for e in read_wfdb_annotations(base, "tst")] == [0.0, 2.5, 9.99]


def test_annotations_without_any_rate(tmp_path):
    base = _annotated(tmp_path, header=False)
    assert read_wfdb_annotation_table(base, "tst")[3] is None
    with pytest.raises(
        RecordingError, match=rf"^{base}\.tst: annotation file has no sampling rate; pass fs="
    ):
        read_wfdb_annotations(base, "tst")
    assert [e.onset_s for e in read_wfdb_annotations(base, "tst", fs=10)] == [0.0, 25.0, 99.9]


def test_annotations_beside_a_malformed_header(tmp_path):
    base = _annotated(tmp_path, header=False)
    (tmp_path / "a.hea").write_text("not a header\n")
    assert read_wfdb_annotation_table(base, "tst")[3] is None  # no rate to be had: the caller gives it
    with pytest.raises(RecordingError, match="annotation file has no sampling rate; pass fs="):
        read_wfdb_annotations(base, "tst")
    assert [e.onset_s for e in read_wfdb_annotations(base, "tst", fs=100)] == [0.0, 2.5, 9.99]


def test_annotation_files_missing_or_malformed(tmp_path):
    base = _annotated(tmp_path, fs=250)
    with pytest.raises(RecordingError, match=rf"^{base}\.atr: WFDB annotation file not found"):
        read_wfdb_annotation_table(base, "atr")
    (tmp_path / "a.bad").write_bytes(b"\xff")
    with pytest.raises(RecordingError, match=rf"^{base}\.bad: malformed WFDB annotation file"):
        read_wfdb_annotation_table(base, "bad")


def test_an_annotation_file_with_no_annotations(tmp_path):
    """The end-of-file marker alone (two zero bytes, the MIT annotation format): no events."""
    _record(tmp_path, "e", 6, [("e.dat", "16", "A")], bytes(12))
    (tmp_path / "e.emp").write_bytes(b"\x00\x00")
    samples, symbols, aux, fs = read_wfdb_annotation_table(tmp_path / "e", "emp")
    assert samples.tolist() == [] and symbols == [] and aux == [] and fs == 100
    assert read_wfdb_annotations(tmp_path / "e", "emp") == []
