"""Event and list files read by hand: every file below is written out in full in the test, and the expected
events, header fields, durations, line numbers and errors are read off it by eye (TUSZ v2 ``.csv``/``.csv_bi``
and legacy ``.tse`` as the TUH corpus writes them, our ``.json`` event lists, NEDC list and parameter files,
the onset-channel CSV)."""

import json
import math

import pytest

from biodyn.errors import ConfigError, RecordingError
from biodyn.io.events import (
    TUSZ_BACKGROUND,
    TUSZ_SEIZURE_LABELS,
    AnnotationFile,
    read_annotation_file,
    read_annotation_files,
    read_event_json,
    read_nedc_list,
    read_nedc_params,
    read_onset_csv,
    read_tse,
    read_tusz_csv,
    write_event_json,
    write_onset_csv,
)
from biodyn.types import Event

CSV = """# version = csv_v1.0.0
# bname = aaaaaaac_s001_t000
# duration = 1289.0000 secs
# montage_file = nedc_eas_default_montage.txt = v2
# a comment without an equals sign
#patient=P1

channel,start_time,stop_time,label,confidence
FP1-F7,0.0000,36.8868,bckg,1.0000

TERM,36.8868,183.3055,SEIZ,1.0000
term,200.0,200.0,Fnsz
 C3-P3 , 10.5 , 12.25 , GNSZ , 0.5
"""


def _write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text)
    return p


def _ev(events):
    return [(e.onset_s, e.duration_s, e.label, e.channels) for e in events]


def test_tusz_csv_by_hand(tmp_path):
    f = read_tusz_csv(_write(tmp_path, "a.csv", CSV))
    assert isinstance(f, AnnotationFile) and f.path == tmp_path / "a.csv"
    assert _ev(f.events) == [
        (0.0, 36.8868, "bckg", ("FP1-F7",)),
        (36.8868, 183.3055 - 36.8868, "seiz", None),  # TERM rows are whole-recording events
        (200.0, 0.0, "fnsz", None),  # a zero-length event, 4 fields (no confidence), "term" in lower case
        (10.5, 1.75, "gnsz", ("C3-P3",)),  # fields are stripped
    ]
    assert f.lines == [9, 11, 12, 13]  # 1-based, counting the blank and header lines
    assert f.duration_s == 1289.0
    assert f.header == {
        "version": "csv_v1.0.0",
        "bname": "aaaaaaac_s001_t000",
        "duration": "1289.0000 secs",
        "montage_file": "nedc_eas_default_montage.txt = v2",  # split at the first "=" only
        "patient": "P1",  # no space after "#"
    }


def test_tusz_csv_without_duration_or_events(tmp_path):
    f = read_tusz_csv(
        _write(tmp_path, "b.csv_bi", "# version = csv_v1.0.0\nchannel,start_time,stop_time,label\n")
    )
    assert f.events == [] and f.lines == [] and f.duration_s is None and f.header == {"version": "csv_v1.0.0"}
    zero = read_tusz_csv(
        _write(tmp_path, "z.csv", "# duration = 0 secs\nchannel,start_time,stop_time,label\n")
    )
    assert zero.duration_s == 0.0  # an empty recording's duration is allowed


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("chan,start_time,stop_time,label\n", r"line 1: expected columns channel,start_time,stop_time,label"),
        ("channel,start,stop_time,label\n", "line 1: expected columns"),
        ("channel,start_time,stop,label\n", "line 1: expected columns"),
        ("channel,start_time,stop_time,lab\n", "line 1: expected columns"),
        ("channel,start_time,stop_time\n", "line 1: expected columns"),
        ("# x = 1\nchannel,start_time,stop_time,label\nTERM,1,2\n", r"line 3: expected at least 4 fields"),
        (
            "channel,start_time,stop_time,label\n\nTERM,a,2,seiz\n",
            r"line 3: start/stop are not numbers: 'TERM,a,2,seiz'$",
        ),
        (
            "channel,start_time,stop_time,label\nTERM,1,nan,seiz\n",
            r"line 2: start=1 stop=nan; allowed: finite seconds \(no nan/inf\): 'TERM,1,nan,seiz'$",
        ),
        ("channel,start_time,stop_time,label\nTERM,inf,inf,seiz\n", "line 2: start=inf stop=inf"),
        ("channel,start_time,stop_time,label\nTERM,1,inf,seiz\n", "line 2: start=1 stop=inf"),
        ("channel,start_time,stop_time,label\nTERM,-inf,1,seiz\n", "line 2: start=-inf stop=1"),
        (
            "channel,start_time,stop_time,label\nTERM,-0.5,1,seiz\n",
            r"line 2: invalid interval start=-0.5 stop=1.0",
        ),
        (
            "channel,start_time,stop_time,label\nTERM,2,1.5,seiz\n",
            r"line 2: invalid interval start=2.0 stop=1.5",
        ),
        ("# duration = long secs\nchannel,start_time,stop_time,label\n", "header: duration is not a number"),
        ("# duration =\nchannel,start_time,stop_time,label\n", "header: duration is not a number: ''"),
        ("# duration = -1 secs\nchannel,start_time,stop_time,label\n", r"header: duration = '-1 secs'"),
        ("# duration = nan secs\nchannel,start_time,stop_time,label\n", r"header: duration = 'nan secs'"),
        ("# duration = inf secs\nchannel,start_time,stop_time,label\n", r"header: duration = 'inf secs'"),
    ],
)
def test_tusz_csv_errors_name_file_and_line(tmp_path, text, message):
    path = _write(tmp_path, "bad.csv", text)
    with pytest.raises(RecordingError, match=rf"^{path}: {message}"):
        read_tusz_csv(path)


def test_interval_bounds_are_inclusive(tmp_path):
    """start 0 and stop == start are valid; the smallest start below 0 and stop below start are not."""
    ok = read_tusz_csv(
        _write(tmp_path, "ok.csv", "channel,start_time,stop_time,label\nTERM,0,0,seiz\nTERM,0.5,0.5,x\n")
    )
    assert _ev(ok.events) == [(0.0, 0.0, "seiz", None), (0.5, 0.0, "x", None)]
    for start, stop in (("-1e-9", "1"), ("1", "0.999999")):
        path = _write(tmp_path, "bad.tse", f"{start} {stop} seiz 1.0\n")
        with pytest.raises(RecordingError, match="line 1: invalid interval"):
            read_tse(path)


TSE = """version = tse_v1.0.0

0.0000 36.8868 bckg 1.0000
# a comment
36.8868 183.3055 SEIZ 1.0000
100.0 120.5 Fnsz
"""


def test_tse_by_hand(tmp_path):
    f = read_tse(_write(tmp_path, "a.tse", TSE))
    assert _ev(f.events) == [
        (0.0, 36.8868, "bckg", None),
        (36.8868, 183.3055 - 36.8868, "seiz", None),
        (100.0, 20.5, "fnsz", None),  # three fields (no probability) are enough
    ]
    assert f.lines == [3, 5, 6]
    assert f.duration_s == pytest.approx(183.3055, abs=1e-12)  # the latest offset, not the last event's
    assert f.header == {}
    empty = read_tse(_write(tmp_path, "e.tse_bi", "version = tse_v1.0.0\n"))
    assert empty.events == [] and empty.duration_s is None and empty.lines == []


def test_tse_errors(tmp_path):
    path = _write(tmp_path, "bad.tse", "version = tse_v1.0.0\n1.0 2.0\n")
    with pytest.raises(RecordingError, match=rf"^{path}: line 2: expected 'start stop label \[prob\]'"):
        read_tse(path)
    path = _write(tmp_path, "nan.tse", "\n\n1.0 nan seiz\n")
    with pytest.raises(RecordingError, match=rf"^{path}: line 3: start=1.0 stop=nan; .*: '1.0 nan seiz'$"):
        read_tse(path)


def test_text_files_must_be_utf8_and_readable(tmp_path):
    path = tmp_path / "bin.csv"
    path.write_bytes(b"abc\xff\xfe")
    with pytest.raises(RecordingError, match=rf"^{path}: not a UTF-8 text file \(byte 3 is 0xff\)"):
        read_tusz_csv(path)
    utf8 = _write(tmp_path, "u.tse", "1 2 séiz\n")
    assert read_tse(utf8).events[0].label == "séiz"
    with pytest.raises(RecordingError, match=rf"^{tmp_path / 'nope.tse'}: cannot read: No such file"):
        read_tse(tmp_path / "nope.tse")
    with pytest.raises(RecordingError, match=rf"^{tmp_path / 'nope.csv'}: cannot read: No such file"):
        read_tusz_csv(tmp_path / "nope.csv")


def test_event_json_round_trip_and_content(tmp_path):
    events = [Event(0.0, 0.0, "seiz"), Event(12.5, 3.25, "FNSZ")]
    path = tmp_path / "ev.json"
    write_event_json(path, events, 600.0)
    assert json.loads(path.read_text()) == {
        "duration_s": 600.0,
        "events": [
            {"onset_s": 0.0, "duration_s": 0.0, "label": "seiz"},
            {"onset_s": 12.5, "duration_s": 3.25, "label": "FNSZ"},
        ],
    }
    f = read_event_json(path)
    assert _ev(f.events) == [(0.0, 0.0, "seiz", None), (12.5, 3.25, "fnsz", None)]  # labels in lower case
    assert f.duration_s == 600.0 and f.lines == [0, 1] and f.header == {} and f.path == path
    write_event_json(path, [], None)
    f = read_event_json(path)
    assert f.events == [] and f.duration_s is None and f.lines == []
    path.write_text('{"events": [{"onset_s": "1", "duration_s": 2, "label": 7}], "duration_s": 0}')
    f = read_event_json(path)  # numbers given as text and labels as numbers are converted; 0 s is allowed
    assert _ev(f.events) == [(1.0, 2.0, "7", None)] and f.duration_s == 0.0


@pytest.mark.parametrize(
    ("body", "message"),
    [
        ({"events": [{"onset_s": 1, "label": "x"}]}, "not a biodyn event list"),
        ({"duration_s": 1}, "not a biodyn event list"),
        ({"events": [{"onset_s": "one", "duration_s": 1, "label": "x"}]}, "not a biodyn event list"),
        (
            {"events": [{"onset_s": math.nan, "duration_s": 1, "label": "x"}]},
            "event 0: onset_s=nan duration_s=1.0",
        ),
        (
            {"events": [{"onset_s": 1, "duration_s": math.inf, "label": "x"}]},
            "event 0: onset_s=1.0 duration_s=inf",
        ),
        (
            {
                "events": [
                    {"onset_s": 0, "duration_s": 0, "label": "x"},
                    {"onset_s": -1, "duration_s": 2, "label": "x"},
                ]
            },
            r"event 1: negative onset_s=-1.0",
        ),
        (
            {"events": [{"onset_s": 1, "duration_s": -0.5, "label": "x"}]},
            r"event 0: negative onset_s=1.0 or duration_s=-0.5",
        ),
        ({"duration_s": -1, "events": []}, r"duration_s=-1.0; allowed"),
        ({"duration_s": math.nan, "events": []}, r"duration_s=nan; allowed"),
        ({"duration_s": math.inf, "events": []}, r"duration_s=inf; allowed"),
    ],
)
def test_event_json_errors(tmp_path, body, message):
    path = tmp_path / "bad.json"
    path.write_text(json.dumps(body))
    with pytest.raises(RecordingError, match=rf"^{path}: {message}"):
        read_event_json(path)


def test_event_json_that_is_not_json_or_not_there(tmp_path):
    path = _write(tmp_path, "bad.json", "{not json")
    with pytest.raises(RecordingError, match=rf"^{path}: not a biodyn event list"):
        read_event_json(path)
    with pytest.raises(RecordingError, match="not a biodyn event list"):
        read_event_json(tmp_path / "missing.json")


def test_annotation_file_dispatch_by_suffix(tmp_path):
    csv_text = "channel,start_time,stop_time,label\nTERM,1,2,seiz\n"
    for name in ("a.csv", "a.csv_bi"):
        assert _ev(read_annotation_file(_write(tmp_path, name, csv_text)).events) == [
            (1.0, 1.0, "seiz", None)
        ]
    for name in ("a.tse", "a.tse_bi"):
        assert _ev(read_annotation_file(_write(tmp_path, name, "1 2 seiz\n")).events) == [
            (1.0, 1.0, "seiz", None)
        ]
    write_event_json(tmp_path / "a.json", [Event(1.0, 1.0, "seiz")], 5.0)
    assert read_annotation_file(str(tmp_path / "a.json")).duration_s == 5.0
    with pytest.raises(RecordingError, match=r"unknown annotation format '\.txt'; expected \.csv"):
        read_annotation_file(_write(tmp_path, "a.txt", csv_text))
    files = read_annotation_files([tmp_path / "a.tse", tmp_path / "a.csv", tmp_path / "a.json"])
    assert [f.path.name for f in files] == ["a.tse", "a.csv", "a.json"]


def test_check_labels_names_the_first_unknown_label_and_its_line(tmp_path):
    f = read_tusz_csv(_write(tmp_path, "a.csv", CSV))
    f.check_labels(TUSZ_SEIZURE_LABELS | {TUSZ_BACKGROUND})  # all known: no error
    with pytest.raises(
        RecordingError, match=rf"^{f.path}: line 11: unknown label 'seiz'; expected one of bckg, fnsz"
    ):
        f.check_labels(["bckg", "fnsz", "gnsz"])
    bare = AnnotationFile(tmp_path / "x", [Event(0, 1, "a"), Event(1, 1, "b")], None)  # no line numbers
    bare.check_labels({"a", "b"})
    with pytest.raises(RecordingError, match=r"line 0: unknown label 'b'; expected one of a$"):
        bare.check_labels(["a"])
    assert bare.header == {} and bare.lines == []


def test_tusz_label_sets():
    assert TUSZ_BACKGROUND == "bckg" and TUSZ_BACKGROUND not in TUSZ_SEIZURE_LABELS
    assert {"seiz", "fnsz", "gnsz", "cpsz", "absz", "tnsz", "tcsz", "mysz"} <= TUSZ_SEIZURE_LABELS


def _tree(tmp_path):
    """``root/edf/dev/ref.csv_bi`` and ``root/lists/sub/`` with a list two levels below the root."""
    (tmp_path / "root" / "edf" / "dev").mkdir(parents=True)
    ref = _write(tmp_path / "root" / "edf" / "dev", "ref.csv_bi", "channel,start_time,stop_time,label\n")
    lists = tmp_path / "root" / "lists" / "sub"
    lists.mkdir(parents=True)
    return ref, lists


def test_nedc_list_expands_the_root_three_ways(tmp_path, monkeypatch):
    ref, lists = _tree(tmp_path)
    body = "# reference files\n\n$NEDC_NFC/edf/dev/ref.csv_bi\n  ${NEDC_NFC}/edf/dev/ref.csv_bi  \n"
    lst = _write(lists, "ref.list", body)
    monkeypatch.delenv("NEDC_NFC", raising=False)
    assert read_nedc_list(lst) == [ref, ref]  # the root: two levels above the list's folder
    other = tmp_path / "other"
    (other / "edf" / "dev").mkdir(parents=True)
    moved = _write(other / "edf" / "dev", "ref.csv_bi", "")
    monkeypatch.setenv("NEDC_NFC", str(other))
    assert read_nedc_list(lst) == [moved, moved]  # the environment variable before the default
    third = tmp_path / "third"
    (third / "edf" / "dev").mkdir(parents=True)
    given = _write(third / "edf" / "dev", "ref.csv_bi", "")
    assert read_nedc_list(str(lst), nfc=str(third)) == [given, given]  # the argument before both


def test_nedc_list_relative_absolute_and_windows_roots(tmp_path, monkeypatch):
    ref, lists = _tree(tmp_path)
    monkeypatch.delenv("NEDC_NFC", raising=False)
    _write(lists, "here.csv_bi", "")
    lst = _write(lists, "mixed.list", f"here.csv_bi\n{ref}\n")
    assert read_nedc_list(lst) == [lists / "here.csv_bi", ref]  # relative to the list's folder
    (lists / "C:" / "nedc").mkdir(parents=True)
    win = _write(lists / "C:" / "nedc", "w.csv_bi", "")
    lst = _write(lists, "win.list", "$NEDC_NFC/w.csv_bi\n")
    # a Windows root keeps its backslashes out of the path (and out of re.sub's escapes: "\n" of "\nedc")
    assert read_nedc_list(lst, nfc="C:\\nedc") == [win]


def test_nedc_list_errors(tmp_path, monkeypatch):
    ref, lists = _tree(tmp_path)
    monkeypatch.delenv("NEDC_NFC", raising=False)
    lst = _write(lists, "bad.list", f"{ref}\n# ok so far\n\n$NEDC_NFC/edf/dev/missing.csv_bi\n")
    with pytest.raises(
        RecordingError, match=rf"^{lst}: line 4: annotation file .*missing\.csv_bi does not exist"
    ):
        read_nedc_list(lst)
    for content in ("", "# only a comment\n\n"):
        lst = _write(lists, "empty.list", content)
        with pytest.raises(RecordingError, match=rf"^{lst}: the list names no annotation files"):
            read_nedc_list(lst)
    with pytest.raises(RecordingError, match="cannot read the list: No such file"):
        read_nedc_list(lists / "nope.list")


def test_nedc_params(tmp_path):
    path = _write(
        tmp_path, "p.toml", 'NEDC_TAES = {epoch_duration = "0.25"}\n[NEDC_OVLP]\nguard_width = 0.001\n'
    )
    assert read_nedc_params(path) == {
        "NEDC_TAES": {"epoch_duration": "0.25"},
        "NEDC_OVLP": {"guard_width": 0.001},
    }
    bad = _write(tmp_path, "bad.toml", "[x\n")
    with pytest.raises(RecordingError, match=rf"^{bad}: cannot read NEDC parameters"):
        read_nedc_params(bad)
    with pytest.raises(RecordingError, match="cannot read NEDC parameters"):
        read_nedc_params(tmp_path / "nope.toml")


ONSETS = """# onset channels read off the seizure annotations
record,seizure_index,channels

chb01_03, 0 ,EEG FP1-REF; T7 ;
  # an indented comment
chb01_04,1,"C3;C4"
"""


def test_onset_csv_by_hand(tmp_path):
    path = _write(tmp_path, "onsets.csv", ONSETS)
    assert read_onset_csv(path) == {("chb01_03", 0): ["Fp1", "T7"], ("chb01_04", 1): ["C3", "C4"]}
    assert read_onset_csv(_write(tmp_path, "h.csv", "record, seizure_index ,channels\n")) == {}


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("", "no header line"),
        ("# c\n\n", "no header line"),
        ("\n# c\nrecord,seizure,channels\n", r"line 3: header must be record,seizure_index,channels"),
        ("record,seizure_index,channels,x\n", "line 1: header must be"),
        ("record,seizure_index,channels\n\nr1,0\n", r"line 3: expected 3 fields, got 2"),
        ("record,seizure_index,channels\nr1,0,C3,C4\n", r"line 2: expected 3 fields, got 4"),
        ("record,seizure_index,channels\nr1,one,C3\n", r"line 2: seizure_index 'one' is not an integer"),
        ("record,seizure_index,channels\nr1,-1,C3\n", r"line 2: needs a seizure_index >= 0"),
        ("record,seizure_index,channels\nr1,0, ; \n", r"line 2: needs a seizure_index >= 0 and at least one"),
        ("record,seizure_index,channels\nr1,0,C3\n# x\nr1,0,C4\n", r"line 4: \(r1, 0\) listed twice"),
    ],
)
def test_onset_csv_errors(tmp_path, text, message):
    path = _write(tmp_path, "bad.csv", text)
    with pytest.raises(RecordingError, match=rf"^{path}: {message}"):
        read_onset_csv(path)


def test_onset_csv_missing_file_is_a_config_error(tmp_path):
    with pytest.raises(ConfigError, match=r"onset file .*nope\.csv does not exist"):
        read_onset_csv(tmp_path / "nope.csv")
    (tmp_path / "dir.csv").mkdir()
    with pytest.raises(ConfigError, match="does not exist"):
        read_onset_csv(tmp_path / "dir.csv")


def test_onset_csv_written_by_hand_and_read_back(tmp_path):
    path = tmp_path / "out.csv"
    onsets = {("r2", 0): ["C3"], ("r1", 1): ["Fp1", "T7"], ("r1", 0): ["O2"]}
    write_onset_csv(path, onsets, comment="made by hand\nsecond line")
    assert path.read_text() == (
        "# made by hand\n# second line\nrecord,seizure_index,channels\nr1,0,O2\nr1,1,Fp1;T7\nr2,0,C3\n"
    )
    assert read_onset_csv(path) == onsets
    write_onset_csv(path, {})
    assert path.read_text() == "record,seizure_index,channels\n"
