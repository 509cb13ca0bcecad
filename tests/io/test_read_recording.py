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
