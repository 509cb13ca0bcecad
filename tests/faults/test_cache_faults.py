"""Killed and concurrent cache builds, damaged records, selections that match nothing, file modes."""

import json
import multiprocessing as mp
import os
import signal
import stat
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from faultkit import Toy, changed_outside, one_error_line, partial_files, run_cli, tree

from biodyn.atomic import temp_prefix
from biodyn.cache import WindowDataset, build_cache
from biodyn.cache.build import CacheError, check_record
from biodyn.errors import NothingMatchedError

HERE = Path(__file__).resolve().parent
SRC = str(HERE.parents[1] / "src")


def _windows(d):
    ds = WindowDataset(d)
    return [ds[i]["x"].numpy() for i in range(len(ds))]


def _alive(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/status").read_text()
    except FileNotFoundError:
        return False
    return "State:\tZ" not in state


@pytest.mark.slow  # a real process to kill: ~7-20 s, most of it importing torch in the child
@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="reads /proc")
def test_sigkill_of_a_jobs_2_build_takes_its_workers_along(tmp_path):
    out, pids = tmp_path / "cache", tmp_path / "pids"
    pids.mkdir()
    script = (
        f"from faultkit import Toy\nfrom biodyn.cache import build_cache\n"
        f"build_cache(Toy(n=12, sleep_s=0.4, pid_dir={str(pids)!r}), {str(out)!r}, jobs=2, progress=False)\n"
    )
    env = {**os.environ, "PYTHONPATH": f"{SRC}:{HERE}"}
    proc = subprocess.Popen([sys.executable, "-c", script], env=env)
    try:
        deadline = time.time() + 90
        while len(list(pids.iterdir())) < 2 and time.time() < deadline:
            time.sleep(0.1)
        workers = [int(p.name) for p in pids.iterdir()]
        assert len(workers) >= 2, "the workers never started"
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)
        deadline = time.time() + 10
        while any(_alive(w) for w in workers) and time.time() < deadline:
            time.sleep(0.1)
        assert not any(_alive(w) for w in workers), "workers outlived their parent"
    finally:
        if proc.poll() is None:
            proc.kill()
    n_before = len(list((out / "records").glob("*.json")))
    time.sleep(1.0)  # no orphan keeps writing
    assert len(list((out / "records").glob("*.json"))) == n_before
    rep = build_cache(Toy(n=12), out, progress=False)  # the rerun finds a consistent folder
    assert len(rep.built) + len(rep.skipped) == 12 and not rep.failed and not rep.rebuilt
    assert partial_files(out) == []
    assert len(_windows(out)) == rep.n_windows


def test_a_live_writers_temp_files_survive_a_second_build(tmp_path):
    build_cache(Toy(n=2), tmp_path, progress=False)
    live = tmp_path / "records" / f"{temp_prefix('r9.x.npy')}abcd1234.npy"  # this process: alive
    live.write_bytes(b"in progress")
    other_host = tmp_path / "records" / ".~elsewhere~1~r8.x.npy.abcd1234.npy"
    other_host.write_bytes(b"in progress on another machine")
    build_cache(Toy(n=3), tmp_path, progress=False)
    assert live.exists() and other_host.exists()


def test_a_dead_writers_temp_files_are_removed(tmp_path):
    p = mp.get_context("fork").Process(target=lambda: None)
    p.start()
    p.join()
    dead = tmp_path / "records" / f".~{temp_prefix('x').split('~')[1]}~{p.pid}~r0.x.npy.abcd1234.npy"
    dead.parent.mkdir(parents=True)
    dead.write_bytes(b"half")
    old_style = tmp_path / "records" / ".r1.x.npy.k2j3h4g5.npy"
    old_style.write_bytes(b"half")
    os.utime(old_style, (time.time() - 3 * 86400,) * 2)
    build_cache(Toy(n=2), tmp_path, progress=False)
    assert not dead.exists() and not old_style.exists() and partial_files(tmp_path) == []


def _build_one(out, q):
    try:
        rep = build_cache(Toy(n=1), out, progress=False)
        q.put((len(rep.built) + len(rep.skipped), rep.failed))
    except Exception as e:  # pragma: no cover (reported to the test)
        q.put((0, repr(e)))


def test_two_writers_of_one_record_do_not_corrupt_it(tmp_path):
    ctx = mp.get_context("fork")
    q = ctx.Queue()
    procs = [ctx.Process(target=_build_one, args=(tmp_path, q)) for _ in range(3)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(120)
    results = [q.get(timeout=5) for _ in procs]
    assert all(n == 1 and not failed for n, failed in results), results
    entry, damaged = check_record(tmp_path / "records", "r0")
    assert entry is not None and damaged is None and partial_files(tmp_path) == []
    fresh = tmp_path / "fresh"
    build_cache(Toy(n=1), fresh, progress=False)
    np.testing.assert_array_equal(np.load(tmp_path / "records/r0.x.npy"), np.load(fresh / "records/r0.x.npy"))


def test_shards_into_one_folder_give_the_full_build(tmp_path):
    for i in range(3):
        build_cache(Toy(n=6), tmp_path / "shared", shard=(i, 3), progress=False)
    build_cache(Toy(n=6), tmp_path / "full", progress=False)
    a, b = _windows(tmp_path / "shared"), _windows(tmp_path / "full")
    assert len(a) == len(b) and all(np.array_equal(x, y) for x, y in zip(a, b, strict=True))


@pytest.mark.parametrize("damage", ["truncate-x", "truncate-y", "delete-x", "garble-json", "resize-x-header"])
def test_damaged_record_is_rebuilt_on_rerun(tmp_path, damage):
    build_cache(Toy(n=3), tmp_path, progress=False)
    reference = _windows(tmp_path)
    rdir = tmp_path / "records"
    if damage == "truncate-x":
        f = rdir / "r1.x.npy"
        f.write_bytes(f.read_bytes()[:-1000])
        with pytest.raises(CacheError, match=r"r1\.x\.npy: damaged cache file"):
            _windows(tmp_path)
    elif damage == "truncate-y":
        f = rdir / "r1.y.npy"
        f.write_bytes(f.read_bytes()[:-10])
    elif damage == "delete-x":
        (rdir / "r1.x.npy").unlink()
    elif damage == "garble-json":
        (rdir / "r1.json").write_text('{"record_id": "r1", "sta')
    else:  # a file of the right size for its own header, but not the shape the entry describes
        x = np.load(rdir / "r1.x.npy")
        np.save(rdir / "r1.x.npy", x[:, :-50])
    rep = build_cache(Toy(n=3), tmp_path, progress=False)
    assert rep.built == ["r1"] and sorted(rep.skipped) == ["r0", "r2"] and "r1" in rep.rebuilt
    assert rep.rebuilt["r1"]
    after = _windows(tmp_path)
    assert len(after) == len(reference) and all(
        np.array_equal(x, y) for x, y in zip(after, reference, strict=True)
    )
    assert partial_files(tmp_path) == []


def test_stale_failures_json_is_removed_once_the_rebuild_succeeds(tmp_path):
    rep = build_cache(Toy(n=3, bad={"r2"}), tmp_path, progress=False)
    assert list(rep.failed) == ["r2"] and "cannot parse header" in rep.failed["r2"]
    assert json.loads((tmp_path / "failures.json").read_text()).keys() == {"r2"}
    rep = build_cache(Toy(n=3), tmp_path, progress=False)
    assert rep.built == ["r2"] and not (tmp_path / "failures.json").exists()


def test_a_warning_for_every_record_is_said_once_with_a_count(tmp_path):
    with pytest.warns(UserWarning) as caught:
        rep = build_cache(Toy(n=5, warn=True), tmp_path, jobs=2, progress=False)
    ours = [str(w.message) for w in caught if "noisy" in str(w.message)]
    assert ours == ["channel Cz is noisy (5 of 5 records)"] and rep.warnings == {"channel Cz is noisy": 5}


def test_records_nope_exits_non_zero_and_writes_nothing(tmp_path, capsys):
    before = tree(tmp_path)
    code, _, err = run_cli(
        ["build-cache", "synthetic", "--out", tmp_path / "c", "--records", "NOPE", "synth000"], capsys
    )
    line = one_error_line(err)
    assert code == 6 and "'NOPE'" in line and "matches no record of synthetic" in line
    assert tree(tmp_path) == before


def test_records_nope_in_the_library(tmp_path):
    with pytest.raises(NothingMatchedError, match="'NOPE'"):
        build_cache(Toy(n=2), tmp_path / "c", records=["NOPE"], progress=False)
    assert not (tmp_path / "c").exists()


@pytest.mark.parametrize("command", ["build-cache", "info"])
def test_folder_without_recordings_exits_non_zero(tmp_path, capsys, command):
    empty = tmp_path / "not_tusz"
    empty.mkdir()
    (empty / "readme.txt").write_text("no recordings here")
    before = tree(tmp_path)
    argv = [command, "tusz", "--root", empty] + (
        ["--out", tmp_path / "c"] if command == "build-cache" else []
    )
    code, _, err = run_cli(argv, capsys)
    line = one_error_line(err)
    assert code == 6 and "not_tusz" in line and "no recordings of tusz" in line
    assert tree(tmp_path) == before


def test_missing_root_is_a_one_line_error(tmp_path, capsys):
    code, _, err = run_cli(["info", "tusz", "--root", tmp_path / "nowhere"], capsys)
    assert code == 6 and "nowhere" in one_error_line(err)


def test_manifest_of_another_configuration_is_refused(tmp_path, capsys):
    build_cache(Toy(n=1), tmp_path, progress=False)
    before = tree(tmp_path)
    with pytest.raises(CacheError, match="another configuration"):
        build_cache(Toy(n=1), tmp_path, window_s=3.0, progress=False)
    assert changed_outside(before, tree(tmp_path)) == []


def test_cache_files_honour_the_umask(tmp_path):
    old = os.umask(0o022)
    try:
        build_cache(Toy(n=2), tmp_path, progress=False)
    finally:
        os.umask(old)
    for f in [tmp_path / "manifest.json", *(tmp_path / "records").iterdir()]:
        assert stat.S_IMODE(f.stat().st_mode) == 0o644, f


@pytest.mark.parametrize(
    ("args", "name"),
    [
        (["--jobs", "0"], "jobs=0"),
        (["--window-s", "-1"], "window_s=-1.0"),
        (["--stride-s", "nan"], "stride_s=nan"),
        (["--shard", "5/3"], "--shard '5/3'"),  # the option as the user gave it
        (["--shard", "a/b"], "--shard 'a/b'"),
    ],
)
def test_bad_build_cache_arguments_write_nothing(tmp_path, capsys, args, name):
    before = tree(tmp_path)
    code, _, err = run_cli(["build-cache", "synthetic", "--out", tmp_path / "c", *args], capsys)
    assert code == 2 and name in one_error_line(err)
    assert tree(tmp_path) == before
