"""EDF+D (discontinuous) files: the record onsets come from each data record's time-keeping annotation; a
file whose records leave a gap is refused with one line naming the gap (reading it as continuous would put
every later sample and event at the wrong time), wherever a recording is read (read_edf, detect, lags)."""

from __future__ import annotations

import re
from pathlib import Path

import numpy as np
import pytest
from faultkit import one_error_line, patch_fixed_field, run_cli, write_tiny_edf

from biodyn.errors import RecordingError
from biodyn.io import read_edf, read_edf_header
from biodyn.io.edf import record_onsets


def _set_record_onsets(path: Path, onsets) -> None:
    """Mark ``path`` EDF+D and rewrite each record's time-keeping annotation to ``onsets[k]`` (the file must
    have no other annotations: each record's TAL region is rewritten whole, zero-padded)."""
    hdr = read_edf_header(path)
    patch_fixed_field(path, 192, 44, "EDF+D")
    raw = bytearray(path.read_bytes())
    s = hdr.labels.index("EDF Annotations")
    start, size = sum(hdr.samples_per_record[:s]) * 2, hdr.samples_per_record[s] * 2
    for k, t in enumerate(onsets):
        tal = f"+{t:g}".encode() + b"\x14\x14\x00"
        assert len(tal) <= size
        at = hdr.header_bytes + k * hdr.record_bytes + start
        raw[at : at + size] = tal.ljust(size, b"\x00")
    path.write_bytes(bytes(raw))


def _tiny(tmp_path, seconds=6):
    # 3 samples a record for the annotation signal: room for "+99" plus its two separators and a NUL
    return write_tiny_edf(tmp_path / "x.edf", seconds=seconds)


def test_record_onsets_are_read_from_the_annotation_channel(tmp_path):
    p = _tiny(tmp_path)
    assert np.allclose(record_onsets(p), np.arange(6.0))  # EDF+C as written: 0, 1, ..., 5 s
    _set_record_onsets(p, [0, 1, 2, 93, 94, 95])
    assert np.allclose(record_onsets(p), [0, 1, 2, 93, 94, 95])


def test_edf_plus_d_with_a_gap_is_refused_naming_the_gap(tmp_path):
    p = _tiny(tmp_path)
    _set_record_onsets(p, [0, 1, 2, 93, 94, 95])  # a 90 s gap after the third 1 s record
    with pytest.raises(RecordingError, match=r"record 3 starts at 93 s, a gap of 90 s after .* ends at 3 s"):
        read_edf(p)


def test_edf_plus_d_without_a_gap_reads_as_continuous(tmp_path):
    p = _tiny(tmp_path)
    before = read_edf(p).data
    _set_record_onsets(p, [0, 1, 2, 3, 4, 5])
    assert read_edf_header(p).discontinuous
    np.testing.assert_array_equal(read_edf(p).data, before)


def test_overlapping_records_are_refused_too(tmp_path):
    p = _tiny(tmp_path)
    _set_record_onsets(p, [0, 1, 2, 2, 3, 4])
    with pytest.raises(RecordingError, match="an overlap of 1 s"):
        read_edf(p)


def test_lags_on_a_gapped_edf_is_one_line_exit_3(tmp_path, capsys):
    p = _tiny(tmp_path)
    _set_record_onsets(p, [0, 1, 2, 93, 94, 95])
    code, _, err = run_cli(["lags", p, "--out", tmp_path / "o"], capsys)
    assert code == 3
    line = one_error_line(err)
    assert re.search(r"x\.edf: EDF\+D .*gap of 90 s", line), line
    assert not (tmp_path / "o").exists()


def test_same_named_channels_with_different_signals_are_reported(tmp_path):
    import warnings

    p = write_tiny_edf(tmp_path / "dup.edf", channels=("Fp1", "C3", "C3"))
    with pytest.warns(
        UserWarning, match=r"dup\.edf: channels with the same name hold different signals: 'C3'"
    ):
        rec = read_edf(p)
    assert rec.channels == ["Fp1", "C3", "C3#2"]
    same = tmp_path / "same.edf"  # identical copies (CHB-MIT repeats T8-P8): the renaming only, said once
    from biodyn.io import write_edf
    from biodyn.types import Recording

    x = np.random.default_rng(0).standard_normal((2, 256)).astype(np.float32) * 40
    write_edf(
        same, Recording(np.stack([x[0], x[1], x[1]]), 64.0, ["Fp1", "C3", "C3"], [], {"units": ["uV"] * 3})
    )
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert read_edf(same).channels == ["Fp1", "C3", "C3#2"]
    said = [str(w.message) for w in caught]
    assert said == [f"{same}: channel C3 appears twice, the second kept as C3#2"], said
