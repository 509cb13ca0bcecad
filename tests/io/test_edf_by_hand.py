"""EDF, EDF+ and BDF files built byte by byte from the EDF specification (fixed header of 256 bytes: version,
patient, recording, start date and time, header bytes at 184, reserved at 192, records at 236, record duration
at 244, signal count at 252; then per signal, each field for all signals in turn: label 16, transducer 80,
dimension 8, physical min/max 8 + 8, digital min/max 8 + 8, prefiltering 80, samples per record 8, reserved
32; then the data records, 2 bytes (EDF) or 3 bytes (BDF) a sample, little-endian, signal after signal).
Expected values are read off the bytes written, never off our reader."""

import math
import warnings
from types import SimpleNamespace

import numpy as np
import pytest

from biodyn.errors import ChannelError, RecordingError
from biodyn.io import edf_info, read_edf, read_edf_annotations, read_edf_header, write_edf
from biodyn.io.edf import _events, check_continuous, record_onsets
from biodyn.types import Recording

ANN = "EDF Annotations"


def _sig(label, spr, pmin=-100, pmax=100, dmin=-32768, dmax=32767, dim="uV", **fields):
    return {
        "label": label,
        "spr": spr,
        "pmin": pmin,
        "pmax": pmax,
        "dmin": dmin,
        "dmax": dmax,
        "dim": dim,
        **fields,
    }


def _edf(
    path,
    signals,
    records,
    *,
    duration=1.0,
    n_records=None,
    reserved="",
    bdf=False,
    date="01.02.03",
    time="10.20.30",
    recording="Startdate 01-FEB-2003 X X X",
):
    """Write an EDF (or BDF) file: ``records`` is a list of data records, each a list with, per signal, its
    samples (ints) or, for an annotation signal, its bytes (zero-padded to the signal's size)."""
    width = 3 if bdf else 2
    ns = len(signals)

    def a(value, n):
        b = value if isinstance(value, bytes) else str(value).encode()
        assert len(b) <= n, (value, n)
        return b.ljust(n, b" ")

    head = (
        (b"\xffBIOSEMI" if bdf else a("0", 8)) + a("X X X X", 80) + a(recording, 80) + a(date, 8) + a(time, 8)
    )
    head += a(256 * (ns + 1), 8) + a(reserved, 44) + a(len(records) if n_records is None else n_records, 8)
    head += a(f"{duration:g}", 8) + a(ns, 4)
    for key, n in (("label", 16), ("transducer", 80), ("dim", 8), ("pmin", 8), ("pmax", 8), ("dmin", 8)):
        head += b"".join(a(s.get(key, ""), n) for s in signals)
    for key, n in (("dmax", 8), ("prefilter", 80), ("spr", 8), ("reserved", 32)):
        head += b"".join(a(s.get(key, ""), n) for s in signals)
    body = b""
    for rec in records:
        for s, part in zip(signals, rec, strict=True):
            size = s["spr"] * width
            if isinstance(part, bytes):
                assert len(part) <= size
                body += part.ljust(size, b"\x00")
            else:
                ints = np.asarray(part, dtype=np.int64)
                assert len(ints) == s["spr"]
                body += b"".join(int(v).to_bytes(width, "little", signed=True) for v in ints)
    path.write_bytes(head + body)
    return path


def _sec(t):
    """Seconds as a TAL writes them: a sign, then digits (no exponent)."""
    return ("+" if t >= 0 else "-") + format(abs(t), ".7f").rstrip("0").rstrip(".")


def _tal(onset, *texts):
    """A time-keeping TAL (``+onset`` and an empty text), then one TAL per ``(onset, duration, text)``."""
    out = _sec(onset).encode() + b"\x14\x14\x00"
    for t_on, t_dur, text in texts:
        dur = b"" if t_dur is None else b"\x15" + _sec(t_dur)[1:].encode()
        out += _sec(t_on).encode() + dur + b"\x14" + text.encode() + b"\x14\x00"
    return out


def test_header_fields_as_written(tmp_path):
    sigs = [_sig("EEG C3-REF", 4), _sig(ANN, 10, dim=""), _sig("EEG C4-REF", 2)]
    recs = [[[0, 1, 2, 3], _tal(k), [5, 6]] for k in range(3)]
    path = _edf(tmp_path / "h.edf", sigs, recs, reserved="EDF+C", duration=1)
    hdr = read_edf_header(path)
    assert (hdr.is_bdf, hdr.header_bytes, hdr.n_records, hdr.record_duration_s) == (False, 1024, 3, 1.0)
    assert hdr.labels == ["EEG C3-REF", ANN, "EEG C4-REF"] and hdr.samples_per_record == [4, 10, 2]
    assert hdr.reserved == "EDF+C" and not hdr.discontinuous and hdr.record_bytes == 32
    assert isinstance(hdr.n_records, int) and isinstance(hdr.header_bytes, int)
    bdf = _edf(tmp_path / "h.bdf", sigs, recs, reserved="BDF+D", bdf=True)
    hdr = read_edf_header(bdf)
    assert hdr.is_bdf and hdr.record_bytes == 48 and hdr.reserved == "BDF+D" and hdr.discontinuous
    assert not read_edf_header(_edf(tmp_path / "p.edf", sigs[:1], [[[0, 1, 2, 3]]])).discontinuous
    info = edf_info(path)
    assert info == {"channels": ["C3", "C4"], "fs": [4.0, 2.0], "duration_s": 3.0}


def test_unknown_record_count_is_counted_from_the_size(tmp_path):
    sigs = [_sig("C3", 3)]
    path = _edf(tmp_path / "u.edf", sigs, [[[1, 2, 3]]] * 5, n_records=-1)
    hdr = read_edf_header(path)
    assert hdr.n_records == 5 and type(hdr.n_records) is int  # 30 data bytes of 6-byte records
    assert read_edf(path).data.shape == (1, 15)
    raw = path.read_bytes()
    (tmp_path / "cut.edf").write_bytes(raw[:-1])
    with pytest.raises(
        RecordingError, match="truncated: 29 data bytes is not a whole number of 6-byte records"
    ):
        read_edf_header(tmp_path / "cut.edf")


def test_samples_per_record_zero_only_for_an_annotation_signal(tmp_path):
    sigs = [_sig("C3", 2), _sig(ANN, 0, dim="")]
    hdr = read_edf_header(_edf(tmp_path / "a.edf", sigs, [[[1, 2], b""]] * 2))
    assert hdr.samples_per_record == [2, 0] and hdr.record_bytes == 4 and hdr.n_records == 2
    only = [_sig(ANN, 0, dim="")]
    path = _edf(tmp_path / "z.edf", only, [[b""]], duration=0)  # 0 s records: allowed without data signals
    with pytest.raises(RecordingError, match=rf"^{path}: header describes data records of 0 bytes"):
        read_edf_header(path)
    sigs = [_sig("C3", 0)]
    path = _edf(tmp_path / "d.edf", sigs, [[[]]])
    with pytest.raises(RecordingError, match=r"'samples per record' of signal 'C3' is 0; allowed"):
        read_edf_header(path)


def test_annotation_only_file_with_zero_second_records(tmp_path):
    path = _edf(
        tmp_path / "hyp.edf", [_sig(ANN, 30, dim="")], [[_tal(0, (0, 30, "Sleep stage W"))]], duration=0
    )
    hdr = read_edf_header(path)
    assert hdr.record_duration_s == 0 and hdr.n_records == 1
    assert edf_info(path) == {"channels": [], "fs": [], "duration_s": 0.0}


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("pmin", "low", r"header field 'physical minimum' of signal 'C4' is not a number: 'low'"),
        ("pmax", "inf", r"header field 'physical maximum' of signal 'C4' is not a number: 'inf'"),
        ("dmin", "nan", r"header field 'digital minimum' of signal 'C4' is not a number: 'nan'"),
        ("dmax", "", r"header field 'digital maximum' of signal 'C4' is not a number: ''"),
        (
            "dmax",
            -32768,
            r"header fields 'digital minimum'/'digital maximum' of signal 'C4' are -32768/-32768; allowed",
        ),
        (
            "dmax",
            -40000,
            r"header fields 'digital minimum'/'digital maximum' of signal 'C4' are -32768/-40000",
        ),
        (
            "pmax",
            -100,
            r"header fields 'physical minimum'/'physical maximum' of signal 'C4' are both -100; allowed",
        ),
        ("pmin", b"\xe9", r"header field 'physical minimum' is not ASCII"),
        ("dmax", b"\xe9", r"header field 'digital maximum' is not ASCII"),
    ],
)
def test_calibration_fields_of_data_signals(tmp_path, field, value, message):
    bad = _sig("C4", 2, **{field: value})
    path = _edf(tmp_path / "c.edf", [_sig("C3", 2), bad], [[[0, 1], [2, 3]]])
    with pytest.raises(RecordingError, match=rf"^{path}: {message}"):
        read_edf_header(path)


def test_calibration_of_an_annotation_signal_is_not_checked(tmp_path):
    ann = _sig(ANN, 10, pmin="x", pmax="", dmin="nan", dmax="-inf", dim="")
    path = _edf(tmp_path / "a.edf", [_sig("C3", 2), ann], [[[0, 1], _tal(0)]])
    assert read_edf_header(path).labels == ["C3", ANN]
    inverted = _sig("C3", 2, pmin=100, pmax=-100)  # a negative gain is allowed: only equal bounds are not
    assert read_edf_header(_edf(tmp_path / "n.edf", [inverted], [[[0, 1]]])).n_records == 1


def test_reserved_field_must_be_ascii(tmp_path):
    path = _edf(tmp_path / "r.edf", [_sig("C3", 2)], [[[0, 1]]], reserved=b"EDF+\xe9")
    with pytest.raises(RecordingError, match=rf"^{path}: header field 'reserved' is not ASCII"):
        read_edf_header(path)


def test_record_onsets_of_a_plain_edf_are_contiguous(tmp_path):
    path = _edf(tmp_path / "p.edf", [_sig("C3", 2)], [[[0, 1]]] * 4, duration=0.5)
    np.testing.assert_array_equal(record_onsets(path), [0.0, 0.5, 1.0, 1.5])
    check_continuous(path, read_edf_header(path))  # EDF (not EDF+D): nothing to check


def _plus_d(tmp_path, onsets, *, duration=1.0, bdf=False, name="d.edf", extra=()):
    """An EDF+D file: a data signal, a first annotation signal with the time-keeping TALs (``onsets``) and a
    second one holding ``extra`` annotations in its first record."""
    sigs = [_sig("C3", 2), _sig(ANN, 8, dim=""), _sig(ANN, 8, dim="")]
    recs = []
    for k, t in enumerate(onsets):
        other = (
            b"".join(_sec(a).encode() + b"\x14" + s.encode() + b"\x14\x00" for a, s in extra)
            if k == 0
            else b""
        )
        recs.append([[k, -k], _tal(t), other])
    reserved = "BDF+D" if bdf else "EDF+D"
    return _edf(tmp_path / name, sigs, recs, duration=duration, reserved=reserved, bdf=bdf)


@pytest.mark.parametrize("bdf", [False, True], ids=["edf", "bdf"])
def test_record_onsets_from_the_first_annotation_signal(tmp_path, bdf):
    onsets = [0, 1, 2, 93.5, 94.5, 95.5]
    path = _plus_d(tmp_path, onsets, bdf=bdf, extra=[(50, "x")])
    np.testing.assert_array_equal(record_onsets(path), onsets)
    np.testing.assert_array_equal(record_onsets(path, read_edf_header(path)), onsets)


def test_a_record_without_time_keeping_is_named(tmp_path):
    sigs = [_sig("C3", 2), _sig(ANN, 8, dim="")]
    recs = [[[0, 0], _tal(0)], [[0, 0], _tal(1)], [[0, 0], b"junk\x14\x14\x00"]]
    path = _edf(tmp_path / "j.edf", sigs, recs, reserved="EDF+D")
    with pytest.raises(
        RecordingError, match=rf"^{path}: data record 2: no time-keeping annotation \(\+onset\) in 'EDF"
    ):
        record_onsets(path)


@pytest.mark.parametrize(
    ("onsets", "duration", "message"),
    [
        (
            [0, 1, 2, 93, 94, 95],
            1.0,
            "data record 3 starts at 93 s, a gap of 90 s after the previous one ends at 3 s",
        ),
        (
            [10, 12, 17, 19],
            2.0,
            "data record 2 starts at 17 s, a gap of 3 s after the previous one ends at 14 s",
        ),
        (
            [0, 1, 1.5, 2.5],
            1.0,
            "data record 2 starts at 1.5 s, an overlap of 0.5 s after the previous one ends at 2 s",
        ),
        ([0, 1.000002, 2], 1.0, "data record 1 starts at 1 s, a gap of 2e-06 s"),  # 2 us past a 1 s record
        ([-1, 0.0000015], 1.0, "data record 1 starts at 1.5e-06 s"),  # 1.5 us: over the 1 us tolerance
        (
            [0, 10.00002],
            10.0,
            "data record 1 starts at 10 s, a gap of 2e-05 s",
        ),  # 1 us per s of a 10 s record
    ],
)
def test_gaps_and_overlaps_are_refused_naming_the_first(tmp_path, onsets, duration, message):
    path = _plus_d(tmp_path, onsets, duration=duration)
    with pytest.raises(RecordingError, match=rf"^{path}: EDF\+D \(discontinuous\): {message}"):
        read_edf(path)
    with pytest.raises(RecordingError, match=message):
        check_continuous(path, read_edf_header(path))


@pytest.mark.parametrize(
    ("onsets", "duration"),
    [
        ([0, 1, 2, 3], 1.0),
        ([5, 7, 9], 2.0),
        ([-1, 0.000001], 1.0),  # exactly the tolerance (1 us for records up to 1 s) is not a gap
        ([0, 1.0000005], 1.0),
        ([0, 10.000005], 10.0),  # the tolerance grows with the record: 10 us for 10 s records
    ],
)
def test_edf_plus_d_within_the_tolerance_reads_as_continuous(tmp_path, onsets, duration):
    path = _plus_d(tmp_path, onsets, duration=duration)
    rec = read_edf(path)
    assert rec.data.shape == (1, 2 * len(onsets)) and rec.fs == 2 / duration


def _fake(*annotations):
    return SimpleNamespace(
        annotations=[SimpleNamespace(onset=o, duration=d, text=t) for o, d, t in annotations]
    )


def test_events_skip_empty_texts_and_default_durations():
    edf = _fake(
        (0.0, None, ""), (1.0, None, None), (2.0, 0.5, "  "), (3.0, None, " spike "), (4.0, 2.0, "seiz")
    )
    assert [(e.onset_s, e.duration_s, e.label) for e in _events(edf)] == [
        (3.0, 0.0, "spike"),
        (4.0, 2.0, "seiz"),
    ]


@pytest.mark.parametrize(
    ("onset", "duration"), [(math.nan, 1.0), (1.0, math.inf), (-math.inf, None), (1.0, math.nan)]
)
def test_events_with_non_finite_times_are_refused(tmp_path, onset, duration):
    with pytest.raises(RecordingError, match=rf"^{tmp_path}: annotation 1 \('x'\): onset"):
        _events(_fake((0.0, None, "ok"), (onset, duration, "x")), tmp_path)


def test_readers_name_the_file_of_a_bad_annotation(tmp_path, monkeypatch):
    import biodyn.io.edf as edf_module

    path = write_tiny(tmp_path / "t.edf")
    real = edf_module._open

    def with_nan(p, hdr):
        edf = real(p, hdr)
        return SimpleNamespace(
            signals=edf.signals,
            annotations=[SimpleNamespace(onset=math.nan, duration=None, text="x")],
            startdatetime=None,  # an anonymised date, as edfio writes it
        )

    monkeypatch.setattr(edf_module, "_open", with_nan)
    with pytest.raises(RecordingError, match=rf"^{path}: annotation 0"):
        read_edf(path)
    with pytest.raises(RecordingError, match=rf"^{path}: annotation 0"):
        read_edf_annotations(path)


def write_tiny(path, channels=("C3", "C4"), data=None, fs=4.0):
    data = np.arange(len(channels) * 8, dtype=np.float32).reshape(len(channels), 8) if data is None else data
    write_edf(path, Recording(data, fs, list(channels)))
    return path


def test_start_time_and_anonymised_dates(tmp_path):
    sigs = [_sig("C3", 2), _sig(ANN, 8, dim="")]
    path = _edf(tmp_path / "s.edf", sigs, [[[0, 1], _tal(0)]], reserved="EDF+C")
    assert read_edf(path).meta["start_time"] == "2003-02-01T10:20:30"
    anon = _edf(
        tmp_path / "a.edf", sigs, [[[0, 1], _tal(0)]], reserved="EDF+C", recording="Startdate X X X X"
    )
    assert read_edf(anon).meta["start_time"] is None


def test_repeated_names_are_renamed_warned_and_recorded(tmp_path):
    same = np.tile(np.arange(8, dtype=np.float32), (4, 1))
    path = write_tiny(tmp_path / "r.edf", ["C3", "C3", "Cz", "C3"], same)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        rec = read_edf(path)
    assert [str(w.message) for w in seen] == [
        f"{path}: channel C3 appears 3 times, the others kept as C3#2, C3#3"
    ]
    assert rec.channels == ["C3", "C3#2", "Cz", "C3#3"]
    assert rec.meta["renamed_channels"] == [
        {"channel": "C3", "renamed": "C3#2"},
        {"channel": "C3", "renamed": "C3#3"},
    ]
    picked = read_edf(path, channels=["C3#3", "Cz"])
    assert picked.meta["renamed_channels"] == [{"channel": "C3", "renamed": "C3#3"}]
    assert read_edf(path, channels=["Cz"]).meta["renamed_channels"] == []
    two = write_tiny(tmp_path / "two.edf", ["EEG O1-REF", "EEG O1-REF"], same[:2])
    with pytest.warns(UserWarning, match=rf"^{two}: channel O1 appears twice, the second kept as O1#2$"):
        read_edf(two)


def test_same_named_channels_holding_different_signals_are_reported(tmp_path):
    data = np.stack([np.arange(8), np.arange(8), np.arange(8) + 1, np.arange(8), np.arange(8) * 2]).astype(
        np.float32
    )
    path = write_tiny(tmp_path / "d.edf", ["C4", "C3", "C3", "C4", "C3"], data)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        read_edf(path)
    messages = [str(w.message) for w in seen]
    assert messages[-1] == (
        f"{path}: channels with the same name hold different signals: 'C3' and 'C3' (kept as C3, C3#2); "
        "'C3' and 'C3' (kept as C3, C3#3); a selection by name takes the first"
    )
    assert len(messages) == 3  # the two renamings, then the differing copies (C4 twice holds one signal)


def test_a_label_that_already_holds_a_hash_is_its_own_channel(tmp_path):
    """X#2 as written is not a copy of X; the second and third X are renamed X#2 (again: the name is taken
    only by what unique_names saw before) and X#3, the third holds another signal."""
    data = np.stack([np.arange(8), np.arange(8) + 5, np.arange(8) + 5, np.arange(8) + 9]).astype(np.float32)
    path = write_tiny(tmp_path / "h.edf", ["X#2", "X", "X", "X"], data)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        rec = read_edf(path, canonical=False)
    differing = [str(w.message) for w in seen if "hold different signals" in str(w.message)]
    assert differing == [
        f"{path}: channels with the same name hold different signals: 'X' and 'X' (kept as X, {rec.channels[3]}); "
        "a selection by name takes the first"
    ]


def test_channels_are_picked_by_canonical_name(tmp_path):
    path = write_tiny(tmp_path / "c.edf", ["EEG C3-REF", "EEG C4-REF"])
    rec = read_edf(path, channels=["EEG C4-REF", "c3"])
    assert rec.channels == ["C4", "C3"] and rec.meta["original_channels"] == ["EEG C4-REF", "EEG C3-REF"]
    np.testing.assert_allclose(rec.data[0], np.arange(8, 16), atol=1e-3)
    with pytest.raises(ChannelError, match=r"missing channel\(s\) C4; file has EEG C3-REF, EEG C4-REF"):
        read_edf(path, channels=["C4"], canonical=False)


def test_a_resampled_channel_one_sample_short_holds_its_last_value(tmp_path):
    """8 Hz for 96 s read at 652.37 Hz: the nearest ratio within 1e-5 is 897/11 (652.36 Hz), whose 62,627
    samples are one short of 96 s x 652.37 Hz = 62,627.52 -> 62,628; the last sample repeats."""
    import scipy.signal as sps

    x = np.sin(np.arange(768) / 5.0) * 50
    path = _edf(
        tmp_path / "s.edf",
        [_sig("C3", 8, pmin=-32768, pmax=32767)],
        [[np.round(x[k * 8 : k * 8 + 8])] for k in range(96)],
    )
    rec = read_edf(path, fs=652.37)
    ref = sps.resample_poly(np.round(x), 897, 11)
    assert len(ref) == 62627 and rec.data.shape == (1, 62628)
    np.testing.assert_allclose(rec.data[0, :-1], ref, atol=1e-2)
    assert rec.data[0, -1] == rec.data[0, -2] != 0


def _field_of(path, offset, signal, width=8):
    raw = path.read_bytes()
    ns = int(raw[252:256])
    start = 256 + offset * ns + width * signal
    return raw[start : start + width].decode().strip()


def test_written_physical_range_is_the_data_range_or_one_unit_around_a_constant(tmp_path):
    data = np.stack([np.full(8, 7.0), np.linspace(0, 0.5, 8)])
    rec = Recording(data.astype(np.float32), 4.0, ["A", "B"])
    write_edf(tmp_path / "w.edf", rec, annotations=False)
    assert [_field_of(tmp_path / "w.edf", 104, i) for i in range(2)] == ["6", "0"]
    assert [_field_of(tmp_path / "w.edf", 112, i) for i in range(2)] == ["8", "0.5"]
    back = read_edf(tmp_path / "w.edf")
    np.testing.assert_allclose(back.data[0], 7.0, atol=2 / 65535)
    np.testing.assert_allclose(back.data[1], data[1], atol=0.5 / 65535 * 0.51)  # the range of B, not B +- 1


def test_long_labels_and_units_are_cut_to_their_fields(tmp_path):
    rec = Recording(
        np.zeros((1, 8), np.float32) + np.arange(8),
        4.0,
        ["ABCDEFGHIJKLMNOPQRST"],
        meta={"units": ["microvolts"]},
    )
    write_edf(tmp_path / "l.edf", rec)
    back = read_edf(tmp_path / "l.edf", canonical=False)
    assert back.channels == ["ABCDEFGHIJKLMNOP"] and back.meta["units"] == ["microvol"]


def test_a_range_of_exactly_one_nanovolt_is_kept(tmp_path):
    """Only a range under 1e-9 counts as constant: float64 samples 0 and 1e-9 keep their own range."""
    rec = Recording(np.array([[0.0, 1e-9] * 4]), 4.0, ["A"])
    write_edf(tmp_path / "n.edf", rec)
    assert _field_of(tmp_path / "n.edf", 104, 0) == "0"
    np.testing.assert_allclose(read_edf(tmp_path / "n.edf").data, rec.data, rtol=0, atol=1e-12)


def test_written_samples_are_quantised_from_float64(tmp_path):
    """EDF stores d = round((x - pmin) / (pmax - pmin) * (dmax - dmin) + dmin) with the header's pmin/pmax
    (as written, 8 characters): computed here from the file's own header and the float64 samples."""
    x = (np.random.default_rng(0).standard_normal(4096) * 50).astype(np.float32)
    write_edf(tmp_path / "q.edf", Recording(x[None], 256.0, ["A"]), annotations=False)
    pmin, pmax = float(_field_of(tmp_path / "q.edf", 104, 0)), float(_field_of(tmp_path / "q.edf", 112, 0))
    dmin, dmax = float(_field_of(tmp_path / "q.edf", 120, 0)), float(_field_of(tmp_path / "q.edf", 128, 0))
    hdr = read_edf_header(tmp_path / "q.edf")
    raw = (tmp_path / "q.edf").read_bytes()[hdr.header_bytes :]
    per = hdr.samples_per_record
    digital = np.concatenate(
        [
            np.frombuffer(raw[k * hdr.record_bytes : k * hdr.record_bytes + per[0] * 2], "<i2")
            for k in range(hdr.n_records)
        ]
    )
    hand = np.round((x.astype(np.float64) - pmin) / (pmax - pmin) * (dmax - dmin) + dmin)
    np.testing.assert_array_equal(digital, hand)


def test_an_unterminated_time_keeping_tal_is_refused_whatever_follows_it(tmp_path):
    """The TAL must end (0x14) inside its own signal's bytes: here the annotation signal is 16 bytes of
    digits and the next signal's first sample, 20, is the byte 0x14; read past its end it would look whole."""
    sigs = [_sig(ANN, 8, dim=""), _sig("C4", 2)]
    recs = [[_tal(0), [20, 20]], [b"+123456789012345", [20, 20]]]
    path = _edf(tmp_path / "u.edf", sigs, recs, reserved="EDF+D")
    with pytest.raises(RecordingError, match=r"data record 1: no time-keeping annotation"):
        record_onsets(path)


def test_reading_at_a_rate_is_reading_then_resampling(tmp_path):
    """A channel brought to another rate by read_edf is the channel as read at its own rate (float32 samples
    in physical units), resampled by biodyn.signal.filters.resample: the same numbers either way."""
    from biodyn.signal.filters import resample

    t = np.arange(512) / 128
    sigs = [_sig("C3", 256, pmin=-200, pmax=200), _sig("C4", 128, pmin=-200, pmax=200)]
    fast = np.round(np.sin(2 * np.pi * 3 * np.arange(1024) / 256) * 30000).astype(int)
    slow = np.round(np.cos(2 * np.pi * 5 * t) * 20000 + np.sin(2 * np.pi * 1.3 * t) * 9000).astype(int)
    recs = [[fast[k * 256 : (k + 1) * 256], slow[k * 128 : (k + 1) * 128]] for k in range(4)]
    path = _edf(tmp_path / "m.edf", sigs, recs)
    both = read_edf(path)  # C4 brought to 256 Hz
    alone = read_edf(path, channels=["C4"])  # C4 at its own 128 Hz
    assert alone.fs == 128.0 and both.fs == 256.0 and alone.data.dtype == np.float32
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        np.testing.assert_array_equal(both.data[1], resample(alone.data[0], 128.0, 256.0))
        np.testing.assert_array_equal(
            read_edf(path, fs=100.0).data[0], resample(read_edf(path).data[0], 256.0, 100.0)
        )
