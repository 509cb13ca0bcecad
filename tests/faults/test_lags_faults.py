"""Bad input to ``biodyn lags``: each a clear one-line error naming the file/flag/value (nothing written),
or, for problems it can work around, a message saying what it did."""

from __future__ import annotations

import json
import pickle

import numpy as np
import pytest

from biodyn.errors import BiodynError

FS = 100.0


def _lags(argv, capsys):
    """Run ``biodyn lags``; returns ``(exit code, stdout, error message)`` whether the CLI prints errors
    itself or lets the BiodynError through."""
    from biodyn.cli import main

    try:
        code = main(["lags", *map(str, argv), "--no-progress"])
        msg = ""
    except BiodynError as e:
        code, msg = 2, str(e)
    out = capsys.readouterr()
    return code, out.out, msg or out.err


def _npy(tmp_path, x, name="x.npy"):
    p = tmp_path / name
    np.save(p, x)
    return p


def _signal(c=3, t=300, seed=0):
    rng = np.random.default_rng(seed)
    x = rng.standard_normal((c, t))
    x[1, 2:] += 0.8 * x[0, :-2]  # one lagged edge 0 -> 1
    return x


def _assert_failed(code, msg, out_dir, *needles):
    assert code != 0
    assert "\n" not in msg.strip(), msg
    for n in needles:
        assert n in msg, (n, msg)
    assert not out_dir.exists() or not any(out_dir.iterdir())


def test_one_channel(tmp_path, capsys):
    out = tmp_path / "out"
    code, _, msg = _lags(
        [_npy(tmp_path, _signal()[:1]), "--fs", FS, "--channels", "Fz", "--out", out], capsys
    )
    _assert_failed(code, msg, out, "x.npy", "at least 2 channels", "Fz")


def test_twenty_samples(tmp_path, capsys):
    out = tmp_path / "out"
    code, _, msg = _lags(
        [_npy(tmp_path, _signal(t=20)), "--fs", FS, "--channels", "Fz,Cz,Pz", "--out", out], capsys
    )
    _assert_failed(code, msg, out, "too short", "20 samples", "tau_max_s")


def test_duplicate_channel_names(tmp_path, capsys):
    out = tmp_path / "out"
    code, _, msg = _lags(
        [_npy(tmp_path, _signal()), "--fs", FS, "--channels", "Fz,Fz,Cz", "--out", out], capsys
    )
    _assert_failed(code, msg, out, "--channels", "Fz", "more than once")


@pytest.mark.parametrize("fs", ["0", "-5", "nan"])
def test_bad_fs(tmp_path, capsys, fs):
    out = tmp_path / "out"
    code, _, msg = _lags(
        [_npy(tmp_path, _signal()), "--fs", fs, "--channels", "Fz,Cz,Pz", "--out", out], capsys
    )
    _assert_failed(code, msg, out, "--fs", "positive")


def test_npy_without_fs_or_channels(tmp_path, capsys):
    out = tmp_path / "out"
    code, _, msg = _lags([_npy(tmp_path, _signal()), "--out", out], capsys)
    _assert_failed(code, msg, out, "--fs", "--channels")


def test_not_a_numpy_file(tmp_path, capsys):
    p = tmp_path / "notes.npy"
    p.write_text("channel,value\nFz,1\n")
    out = tmp_path / "out"
    code, _, msg = _lags([p, "--fs", FS, "--channels", "Fz,Cz,Pz", "--out", out], capsys)
    _assert_failed(code, msg, out, "notes.npy", "not a NumPy .npy array")
    assert "allow_pickle" not in msg


def test_pickled_objects_are_refused(tmp_path, capsys):
    p = tmp_path / "obj.npy"
    np.save(p, np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    out = tmp_path / "out"
    code, _, msg = _lags([p, "--fs", FS, "--channels", "Fz,Cz", "--out", out], capsys)
    _assert_failed(code, msg, out, "obj.npy", "never unpickles")
    assert "allow_pickle" not in msg and "unsafe" not in msg
    assert pickle  # the module is imported to make the intent explicit: nothing here unpickles


def test_time_by_channel_array_gets_a_transpose_hint(tmp_path, capsys):
    out = tmp_path / "out"
    code, _, msg = _lags(
        [_npy(tmp_path, _signal().T), "--fs", FS, "--channels", "Fz,Cz,Pz", "--out", out], capsys
    )
    _assert_failed(code, msg, out, "x.npy", "(300, 3)", "transpose")


@pytest.mark.parametrize(
    "flags, needle",
    [
        (["--start", "-1"], "--start"),
        (["--start", "5"], "--start"),
        (["--stop", "0.5", "--start", "1"], "--stop"),
        (["--stop", "9"], "--stop"),
        (["--steps", "0"], "--steps"),
        (["--tau-max-s", "0"], "--tau-max-s"),
        (["--stability", "-1"], "--stability"),
    ],
)
def test_bad_flags(tmp_path, capsys, flags, needle):
    out = tmp_path / "out"
    argv = [_npy(tmp_path, _signal()), "--fs", FS, "--channels", "Fz,Cz,Pz", "--out", out, *flags]
    code, _, msg = _lags(argv, capsys)
    _assert_failed(code, msg, out, needle)


def test_unknown_channel_in_an_edf(tmp_path, capsys):
    from biodyn.io import write_edf
    from biodyn.types import Recording

    p = tmp_path / "rec.edf"
    write_edf(
        p, Recording((_signal() * 40).astype(np.float32), FS, ["Fp1", "C3", "O2"], [], {"units": ["uV"] * 3})
    )
    out = tmp_path / "out"
    code, _, msg = _lags([p, "--channels", "Fp1,Nope", "--out", out], capsys)
    _assert_failed(code, msg, out, "rec.edf", "Nope", "Fp1, C3, O2")
    code, _, msg = _lags([p, "--fs", "256", "--out", out], capsys)
    _assert_failed(code, msg, out, "--fs", "rec.edf")


def test_unknown_scalp_names_warn_and_dependent_channels_are_named(tmp_path, capsys):
    x = _signal(c=3)
    x = np.vstack([x, x[0] - x[2]])  # a derived channel
    out = tmp_path / "out"
    argv = [
        _npy(tmp_path, x),
        "--fs",
        FS,
        "--channels",
        "foo,bar,Cz,foo-Cz",
        "--out",
        out,
        "--stability",
        "2",
        "--json",
        tmp_path / "s.json",
    ]
    from biodyn.cli import main

    code = main(["lags", *map(str, argv), "--no-progress"])
    out_err = capsys.readouterr()
    stdout = out_err.out
    assert code == 0, out_err.err
    # a warning: one line on stderr, no Python source line
    warned = [ln for ln in out_err.err.splitlines() if "no scalp position" in ln]
    assert len(warned) == 1 and warned[0].startswith(
        "biodyn: warning: no scalp position for channel(s) foo, bar"
    )
    assert "left out foo-Cz: linearly dependent: foo-Cz = 1.00 foo - 1.00 Cz" in stdout
    result = json.loads((out / "lag_graph.json").read_text())
    assert result["channels"] == ["foo", "bar", "Cz"]
    assert result["dropped_channels"][0]["channel"] == "foo-Cz"
    assert (out / "lag_graph.png").stat().st_size > 0
    summary = json.loads((tmp_path / "s.json").read_text())
    assert summary["stability"]["n_windows"] == 2 and summary["preset"] == "eeg"  # not ECG leads: eeg
