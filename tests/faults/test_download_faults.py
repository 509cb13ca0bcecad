"""Downloads: every destination inside --to, and resumption without Content-Length (local server on
127.0.0.1 only; nothing leaves the machine)."""

import hashlib
import os
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from faultkit import changed_outside, one_error_line, partial_files, run_cli, tree

from biodyn.datasets.download import DownloadError, download, safe_destination

BODY = bytes(range(256)) * 200  # 51,200 bytes


def _sums(files):
    return "".join(f"{hashlib.sha256(b).hexdigest()}  {p}\n" for p, b in files.items()).encode()


class Server:
    """Static files on 127.0.0.1; ``no_length`` sends neither Content-Length nor Content-Range, and
    ``drop_after`` closes the first response of each file after that many bytes."""

    def __init__(self, files, *, no_length=False, drop_after=None, ranges=True):
        self.files, self.no_length, self.drop_after, self.ranges = dict(files), no_length, drop_after, ranges
        self.requests = []
        self.dropped = set()
        outer = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.0"  # without a length the body ends when the connection closes

            def log_message(self, *a):
                pass

            def do_GET(self):
                rel = self.path.lstrip("/").split("/", 1)[1]
                outer.requests.append((rel, self.headers.get("Range")))
                if rel not in outer.files:
                    self.send_error(404)
                    return
                body, start = outer.files[rel], 0
                rng = self.headers.get("Range") if outer.ranges else None
                if rng:
                    start = int(rng.split("=")[1].split("-")[0])
                    if start >= len(body):
                        self.send_response(416)
                        self.end_headers()
                        return
                    self.send_response(206)
                    if not outer.no_length:
                        self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                else:
                    self.send_response(200)
                chunk = body[start:]
                if not outer.no_length:
                    self.send_header("Content-Length", str(len(chunk)))
                self.end_headers()
                if outer.drop_after and rel != "SHA256SUMS.txt" and rel not in outer.dropped:
                    outer.dropped.add(rel)
                    chunk = chunk[: outer.drop_after]
                self.wfile.write(chunk)

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.httpd.server_address[1]}/base/"
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)

    def __enter__(self):
        self.thread.start()
        return self

    def __exit__(self, *a):
        self.httpd.shutdown()
        self.httpd.server_close()


@pytest.mark.parametrize(
    "rel", ["../../x", "../x.edf", "/tmp/abs.edf", "a/../../x", "C:/x.edf", "a//b.edf", "./a"]
)
def test_list_naming_a_path_outside_to_is_refused_before_writing(tmp_path, capsys, rel):
    files = {"ok.edf": BODY, rel: b"evil"}
    to = tmp_path / "to"
    before = tree(tmp_path)
    with Server({**files, "SHA256SUMS.txt": _sums(files)}) as srv:
        code, _, err = run_cli(["download", "chbmit", "--to", to, "--base-url", srv.url], capsys)
    line = one_error_line(err)
    assert code == 7 and repr(rel) in line and "refused" in line and "nothing downloaded" in line
    assert tree(tmp_path) == before and not to.exists()
    assert not os.path.exists("/tmp/abs.edf") or rel != "/tmp/abs.edf"


def test_symlinked_folder_inside_to_is_refused(tmp_path):
    to, outside = tmp_path / "to", tmp_path / "outside"
    to.mkdir()
    outside.mkdir()
    (to / "chb01").symlink_to(outside, target_is_directory=True)
    files = {"chb01/x.edf": BODY}
    before = tree(outside)
    with Server({**files, "SHA256SUMS.txt": _sums(files)}) as srv, pytest.raises(DownloadError) as e:
        download("chbmit", to, base_url=srv.url, progress=False)
    assert "'chb01/x.edf'" in str(e.value) and "symbolic link" in str(e.value)
    assert tree(outside) == before


@pytest.mark.parametrize("which", ["target", "part"])
def test_symlinked_target_or_part_file_is_refused(tmp_path, which):
    to = tmp_path / "to"
    to.mkdir()
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    (to / ("x.edf" if which == "target" else "x.edf.part")).symlink_to(victim)
    files = {"x.edf": BODY}
    with (
        Server({**files, "SHA256SUMS.txt": _sums(files)}) as srv,
        pytest.raises(DownloadError, match="symbolic link"),
    ):
        download("chbmit", to, base_url=srv.url, progress=False)
    assert victim.read_text() == "keep me"


def test_safe_destination_accepts_plain_paths(tmp_path):
    assert safe_destination(tmp_path, "chb01/chb01_01.edf") == tmp_path / "chb01" / "chb01_01.edf"


def test_no_content_length_and_a_dropped_connection_resumes(tmp_path):
    files = {"chb01/a.edf": BODY, "b.txt": b"small file\n"}
    with Server({**files, "SHA256SUMS.txt": _sums(files)}, no_length=True, drop_after=20_000) as srv:
        rep = download("chbmit", tmp_path, base_url=srv.url, jobs=1, progress=False, timeout=10)
    assert not rep.failed, rep.failed
    assert (tmp_path / "chb01/a.edf").read_bytes() == BODY
    assert ("chb01/a.edf", "bytes=20000-") in srv.requests
    assert partial_files(tmp_path) == []


def test_no_content_length_real_mismatch_is_still_a_mismatch(tmp_path):
    files = {"a.edf": BODY}
    sums = _sums({"a.edf": BODY + b"x"})
    with Server({**files, "SHA256SUMS.txt": sums}, no_length=True) as srv:
        rep = download("chbmit", tmp_path, base_url=srv.url, progress=False, timeout=10)
    assert "a.edf: checksum mismatch" in rep.failed["a.edf"]
    assert not (tmp_path / "a.edf").exists() and partial_files(tmp_path) == []


def test_server_ignoring_range_without_length_gives_up_by_name(tmp_path):
    files = {"a.edf": BODY}
    with Server(
        {**files, "SHA256SUMS.txt": _sums(files)}, no_length=True, drop_after=1000, ranges=False
    ) as srv:
        rep = download("chbmit", tmp_path, base_url=srv.url, progress=False, timeout=10)
    # the server restarts from byte 0 on the retry (it ignores Range) and the whole file arrives
    assert not rep.failed and (tmp_path / "a.edf").read_bytes() == BODY


def test_only_matching_nothing_writes_nothing(tmp_path, capsys):
    files = {"a.edf": BODY}
    before = tree(tmp_path)
    with Server({**files, "SHA256SUMS.txt": _sums(files)}) as srv:
        code, _, err = run_cli(
            ["download", "chbmit", "--to", tmp_path / "to", "--base-url", srv.url, "--only", "zzz*"], capsys
        )
    assert code == 7 and "'zzz*'" in one_error_line(err)
    assert changed_outside(before, tree(tmp_path)) == []
