"""Rough messages of issue #40: errors name the target (never a writer's temporary file), and CLD-Trans runs
log no deprecation warning from vector-quantize-pytorch."""

from __future__ import annotations

import pytest

from biodyn.atomic import atomic_write_json


def test_atomic_write_under_a_file_names_the_file_not_a_temp_file(tmp_path):
    (tmp_path / "out").write_text("a file, not a folder\n")
    with pytest.raises(NotADirectoryError) as e:
        atomic_write_json(tmp_path / "out" / "results.json", {"a": 1})
    assert e.value.filename == str(tmp_path / "out") and ".~" not in str(e.value)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["out"]


def test_atomic_write_onto_a_folder_names_the_folder(tmp_path):
    (tmp_path / "results.json").mkdir()
    with pytest.raises(IsADirectoryError) as e:
        atomic_write_json(tmp_path / "results.json", {"a": 1})
    assert e.value.filename == str(tmp_path / "results.json")
    assert [p.name for p in tmp_path.iterdir()] == ["results.json"]  # no temporary file left beside it


def test_an_os_error_in_the_temp_file_is_reported_for_the_target(tmp_path, monkeypatch):
    """A read-only folder (simulated: root may write anywhere) refuses the temporary file; the error names
    the file the user asked for."""
    import tempfile

    def refuse(*a, dir=None, prefix="", suffix="", **k):
        raise OSError(30, "Read-only file system", f"{dir}/{prefix}abc{suffix}")

    monkeypatch.setattr(tempfile, "mkstemp", refuse)
    with pytest.raises(OSError) as e:
        atomic_write_json(tmp_path / "x.json", {})
    assert e.value.filename == str(tmp_path / "x.json") and e.value.strerror == "Read-only file system"


def test_the_motif_tokenizer_logs_no_deprecation_warning():
    from loguru import logger

    from biodyn.nn.vq import MotifTokenizer

    seen: list[str] = []
    sink = logger.add(lambda m: seen.append(str(m)), level="WARNING")
    try:
        tok = MotifTokenizer(dim=8, hidden=8, codebook_size=16, threshold_ema_dead_code=2)
    finally:
        logger.remove(sink)
    assert not [m for m in seen if "deprecated" in m], seen
    # the library's own conversion of 2 codes
    assert tok.vq._codebook.dead_code_threshold_ratio == pytest.approx(2 / 16)
