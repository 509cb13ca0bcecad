"""Bad recordings and annotation files: a RecordingError naming the file, the field and the value."""

import pytest
from faultkit import one_error_line, patch_fixed_field, patch_signal_field, run_cli, tree, write_tiny_edf

from biodyn.errors import RecordingError
from biodyn.io import read_edf, read_edf_header
from biodyn.io.events import read_annotation_file
from biodyn.types import Event

# (what, patch) -> the field the message must name
HEADER_FAULTS = {
    "duration-nan": (lambda p: patch_fixed_field(p, 244, 8, "nan"), "data record duration", "nan"),
    "duration-minus-1": (lambda p: patch_fixed_field(p, 244, 8, "-1"), "data record duration", "-1"),
    "duration-0": (lambda p: patch_fixed_field(p, 244, 8, "0"), "data record duration", "0"),
    "duration-inf": (lambda p: patch_fixed_field(p, 244, 8, "inf"), "data record duration", "inf"),
    "duration-text": (lambda p: patch_fixed_field(p, 244, 8, "one"), "data record duration", "one"),
    "records-minus-5": (lambda p: patch_fixed_field(p, 236, 8, "-5"), "number of data records", "-5"),
    "samples-negative": (lambda p: patch_signal_field(p, 216, 1, "-64"), "samples per record", "-64"),
    "samples-zero": (lambda p: patch_signal_field(p, 216, 0, "0"), "samples per record", "0"),
    "digital-min-eq-max": (
        lambda p: (patch_signal_field(p, 120, 1, "100"), patch_signal_field(p, 128, 1, "100")),
        "digital minimum",
        "100/100",
    ),
    "digital-min-gt-max": (
        lambda p: (patch_signal_field(p, 120, 2, "500"), patch_signal_field(p, 128, 2, "-500")),
        "digital maximum",
        "500/-500",
    ),
    "physical-min-eq-max": (
        lambda p: (patch_signal_field(p, 104, 0, "5"), patch_signal_field(p, 112, 0, "5")),
        "physical minimum",
        "5",
    ),
    "physical-not-number": (lambda p: patch_signal_field(p, 104, 0, "abc"), "physical minimum", "abc"),
}


@pytest.mark.parametrize("fault", sorted(HEADER_FAULTS))
def test_bad_edf_header_is_a_recording_error_naming_file_field_value(tmp_path, fault):
    patch, field, value = HEADER_FAULTS[fault]
    path = write_tiny_edf(tmp_path / f"{fault}.edf")
    patch(path)
    with pytest.raises(RecordingError) as e:
        read_edf(path)
    msg = str(e.value)
    assert msg.startswith(str(path)) and field in msg and value in msg, msg


def test_bad_edf_header_through_the_cli(tmp_path, capsys):
    path = write_tiny_edf(tmp_path / "rec.edf")
    patch_fixed_field(path, 244, 8, "nan")
    before = tree(tmp_path)
    code, _, err = run_cli(["lags", path, "--out", tmp_path / "out"], capsys)
    line = one_error_line(err)
    assert code == 3 and "rec.edf" in line and "data record duration" in line and "nan" in line
    assert tree(tmp_path) == before


def test_valid_tiny_edf_reads(tmp_path):
    """The helper's file is valid, so the faults above are the patches' doing."""
    rec = read_edf(write_tiny_edf(tmp_path / "ok.edf"))
    assert rec.data.shape == (3, 512) and read_edf_header(tmp_path / "ok.edf").record_duration_s > 0


CSV_HEAD = (
    "# version = csv_v1.0.0\n# duration = 60.0000 secs\nchannel,start_time,stop_time,label,confidence\n"
)
ANNOTATION_FAULTS = {
    "csv-start-nan": ("a.csv_bi", CSV_HEAD + "TERM,nan,12.0,seiz,1.0\n", "line 4"),
    "csv-stop-inf": ("a.csv_bi", CSV_HEAD + "TERM,2.0,inf,seiz,1.0\n", "line 4"),
    "csv-start-minus-inf": ("a.csv", CSV_HEAD + "FP1-F7,-inf,3.0,seiz,1.0\n", "line 4"),
    "csv-duration-nan": ("a.csv_bi", CSV_HEAD.replace("60.0000", "nan") + "TERM,0,60,bckg,1.0\n", "duration"),
    "csv-reversed": ("a.csv_bi", CSV_HEAD + "TERM,12.0,2.0,seiz,1.0\n", "line 4"),
    "tse-nan": ("a.tse_bi", "version = tse_v1.0.0\n\n0.0 nan seiz 1.0\n", "line 3"),
    "json-inf": (
        "a.json",
        '{"duration_s": 60, "events": [{"onset_s": Infinity, "duration_s": 1, "label": "seiz"}]}',
        "event 0",
    ),
    "json-nan-duration": ("a.json", '{"duration_s": NaN, "events": []}', "duration_s"),
}


@pytest.mark.parametrize("fault", sorted(ANNOTATION_FAULTS))
def test_nan_or_inf_annotation_times_are_refused_with_file_and_line(tmp_path, fault):
    name, text, where = ANNOTATION_FAULTS[fault]
    path = tmp_path / name
    path.write_text(text)
    with pytest.raises(RecordingError) as e:
        read_annotation_file(path)
    msg = str(e.value)
    assert msg.startswith(str(path)) and where in msg, msg


def test_edf_annotation_with_nan_onset_is_refused(tmp_path, monkeypatch):
    import biodyn.io.edf as edf_mod

    path = write_tiny_edf(tmp_path / "ann.edf", events=[Event(1.0, 1.0, "seiz")])

    class Fake:
        onset, duration, text = float("nan"), 1.0, "seiz"

    real_open = edf_mod._open

    def with_nan(p, hdr):
        e = real_open(p, hdr)
        return type("E", (), {"annotations": [Fake()], "signals": e.signals, "startdatetime": None})()

    monkeypatch.setattr(edf_mod, "_open", with_nan)
    with pytest.raises(RecordingError, match=r"ann\.edf: annotation 0 \('seiz'\): onset nan"):
        read_edf(path)


def _score(tmp_path, capsys, ref_text, hyp_text):
    ref, hyp = tmp_path / "ref.list", tmp_path / "hyp.list"
    ref.write_text(ref_text)
    hyp.write_text(hyp_text)
    return run_cli(["score", ref, hyp], capsys)


def test_score_refuses_a_nan_reference_seizure(tmp_path, capsys):
    (tmp_path / "r.csv_bi").write_text(CSV_HEAD + "TERM,0.0,10.0,bckg,1.0\nTERM,nan,50.0,seiz,1.0\n")
    (tmp_path / "h.csv_bi").write_text(CSV_HEAD + "TERM,0.0,60.0,bckg,1.0\n")
    code, _, err = _score(
        tmp_path, capsys, str(tmp_path / "r.csv_bi") + "\n", str(tmp_path / "h.csv_bi") + "\n"
    )
    line = one_error_line(err)
    assert code == 2 and "r.csv_bi: line 5" in line and "nan" in line


@pytest.mark.parametrize(
    "content", ["", "\n\n", "# only a comment\n"], ids=["empty", "blank-lines", "comments"]
)
def test_empty_list_files_are_refused(tmp_path, capsys, content):
    (tmp_path / "h.csv_bi").write_text(CSV_HEAD + "TERM,0.0,60.0,bckg,1.0\n")
    code, _, err = _score(tmp_path, capsys, content, str(tmp_path / "h.csv_bi") + "\n")
    line = one_error_line(err)
    assert code == 2 and "ref.list" in line and "names no annotation files" in line


def _tusz_folder(root, n=3):
    root.mkdir()
    for i in range(n):
        write_tiny_edf(root / f"aaaaaaa{i}_s001_t000.edf", seconds=8, fs=64.0, seed=i)
        (root / f"aaaaaaa{i}_s001_t000.csv_bi").write_text(
            CSV_HEAD.replace("60.0000", "8.0000") + "TERM,0.0,8.0,bckg,1.0\n"
        )
    return root


def test_info_reports_the_bad_file_and_summarises_the_rest(tmp_path, capsys):
    root = _tusz_folder(tmp_path / "tusz")
    patch_fixed_field(root / "aaaaaaa1_s001_t000.edf", 244, 8, "-1")
    (tmp_path / "out").mkdir()
    code, _out, err = run_cli(["info", "tusz", "--root", root, "--json", tmp_path / "out" / "s.json"], capsys)
    assert code == 3
    assert "aaaaaaa1_s001_t000.edf" in err and "data record duration" in err
    # files are counted as files, records as records (a bad annotation file must not make it "15 of 13")
    assert "1 file(s) could not be read (listed above); the summary covers the rest of the 3 record(s)" in (
        one_error_line(err)
    )
    import json

    s = json.loads((tmp_path / "out" / "s.json").read_text())
    assert (
        s["records"] == 3
        and s["records_with_signals"] == 2
        and list(s["bad_files"]) == [str(root / "aaaaaaa1_s001_t000.edf")]
    )


def test_info_with_a_bad_annotation_file(tmp_path, capsys):
    root = _tusz_folder(tmp_path / "tusz", n=2)
    (root / "aaaaaaa0_s001_t000.csv_bi").write_text(CSV_HEAD + "TERM,inf,8.0,seiz,1.0\n")
    code, _, err = run_cli(["info", "tusz", "--root", root], capsys)
    assert code == 3 and "aaaaaaa0_s001_t000.csv_bi" in err and "line 4" in err


def test_build_cache_of_a_corpus_with_one_bad_file_builds_the_rest(tmp_path, capsys):
    root = _tusz_folder(tmp_path / "tusz")
    patch_signal_field(root / "aaaaaaa2_s001_t000.edf", 216, 0, "-64")
    # tiny files have 3 of the 19 channels TUSZ needs: every record fails; the build says so and exits 1
    code, out, _ = run_cli(
        [
            "build-cache",
            "tusz",
            "--root",
            root,
            "--out",
            tmp_path / "c",
            "--window-s",
            "2",
            "--stride-s",
            "2",
        ],
        capsys,
    )
    assert code == 1 and "aaaaaaa2_s001_t000.edf" in out and "samples per record" in out
