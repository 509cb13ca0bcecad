"""CLI warnings: one line `biodyn: warning: <file>: <what>`, repeats of a kind counted, library users keep the
warnings module."""

import io
import warnings

from biodyn._cli._common import OneLineWarnings


def test_one_line_and_counted():
    out = io.StringIO()
    h = OneLineWarnings(stream=out)
    with h.installed():
        warnings.warn("/data/a.edf: 3.5 s is shorter than one 10 s window;\n  zero-padded", stacklevel=1)
        warnings.warn("/data/b.edf: 4.1 s is shorter than one 10 s window;\n  zero-padded", stacklevel=1)
        warnings.warn("/data/c.edf: 2.0 s is shorter than one 10 s window;\n  zero-padded", stacklevel=1)
        warnings.warn("/data/a.edf: channel T8-P8 appears twice, the second kept as T8-P8#2", stacklevel=1)
        # again
        warnings.warn("/data/a.edf: channel T8-P8 appears twice, the second kept as T8-P8#2", stacklevel=1)
    lines = out.getvalue().splitlines()
    assert lines == [
        "biodyn: warning: /data/a.edf: 3.5 s is shorter than one 10 s window; zero-padded",
        "biodyn: warning: /data/a.edf: channel T8-P8 appears twice, the second kept as T8-P8#2",
        'biodyn: warning: 2 more like "/data/a.edf: 3.5 s is shorter than one 10 s window; zero-padded"',
    ]
    assert "UserWarning" not in out.getvalue() and ".py:" not in out.getvalue()


def test_library_users_keep_the_warnings_module():
    h = OneLineWarnings(stream=io.StringIO())
    before = warnings.showwarning
    with h.installed():
        assert warnings.showwarning == h.show
    assert warnings.showwarning is before
    with warnings.catch_warnings(record=True) as got:
        warnings.simplefilter("always")
        warnings.warn("x.edf: something", stacklevel=1)
    assert len(got) == 1 and str(got[0].message) == "x.edf: something"


def test_the_cli_prints_edf_duplicate_channels_once(tmp_path, capsys):
    """A file with a repeated channel, read by a CLI command: one line naming file and channel."""
    import numpy as np

    from biodyn.cli import main
    from biodyn.io import write_edf
    from biodyn.types import Recording

    path = tmp_path / "dup.edf"
    x = np.random.default_rng(0).standard_normal((3, 512)).astype(np.float32) * 20
    write_edf(path, Recording(x, 256.0, ["FP1-F7", "T8-P8", "T8-P8"], [], {}))
    main(
        [
            "lags",
            str(path),
            "--out",
            str(tmp_path / "out"),
            "--steps",
            "5",
            "--stability",
            "0",
            "--no-progress",
        ]
    )
    err = capsys.readouterr().err
    hits = [ln for ln in err.splitlines() if "appears twice" in ln]
    assert hits == [f"biodyn: warning: {path}: channel T8-P8 appears twice, the second kept as T8-P8#2"]
