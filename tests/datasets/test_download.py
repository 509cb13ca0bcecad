import hashlib
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

from biodyn.cli import main
from biodyn.datasets.download import DownloadError, download, parse_sha256sums

FILES = {
    "RECORDS": b"chb01/chb01_01.edf\n",
    "chb01/chb01_01.edf": bytes(range(256)) * 400,  # 102,400 bytes
    "chb01/chb01-summary.txt": b"Data Sampling Rate: 256 Hz\n",
}


def _sums(files, corrupt=()):
    lines = []
    for p, b in files.items():
        h = hashlib.sha256(b + (b"x" if p in corrupt else b"")).hexdigest()
        lines.append(f"{h}  {p}")
    return ("\n".join(lines) + "\n").encode()


class Server:
    """Static files on 127.0.0.1 with Range support; can drop a connection mid-file once."""

    def __init__(self, files, drop_once=None, drop_after=10_000):
        self.files = dict(files)
        self.drop_once = set(drop_once or ())
        self.drop_after = drop_after
        self.requests = []
        outer = self

        class Handler(BaseHTTPRequestHandler):
            def log_message(self, *a):
                pass

            def do_GET(self):
                rel = self.path.lstrip("/").split("/", 1)[1]  # strip the /base/ prefix
                outer.requests.append((rel, self.headers.get("Range")))
                if rel not in outer.files:
                    self.send_error(404)
                    return
                body = outer.files[rel]
                start = 0
                rng = self.headers.get("Range")
                if rng:
                    start = int(rng.split("=")[1].split("-")[0])
                    if start >= len(body):
                        self.send_response(416)
                        self.end_headers()
                        return
                    self.send_response(206)
                    self.send_header("Content-Range", f"bytes {start}-{len(body) - 1}/{len(body)}")
                else:
                    self.send_response(200)
                chunk = body[start:]
                self.send_header("Content-Length", str(len(chunk)))
                self.end_headers()
                if rel in outer.drop_once:
                    outer.drop_once.discard(rel)
                    self.wfile.write(chunk[: outer.drop_after])
                    self.wfile.flush()
                    self.close_connection = True
                    return
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


def test_download_verifies_and_skips(tmp_path):
    files = {**FILES, "SHA256SUMS.txt": _sums(FILES)}
    with Server(files) as srv:
        rep = download("chbmit", tmp_path, base_url=srv.url, jobs=2, progress=False)
        assert sorted(rep.downloaded) == sorted(FILES) and not rep.failed
        for p, b in FILES.items():
            assert (tmp_path / p).read_bytes() == b
        rep2 = download("chbmit", tmp_path, base_url=srv.url, progress=False)
        assert sorted(rep2.skipped) == sorted(FILES) and not rep2.downloaded
        rep3 = download("chbmit", tmp_path / "only", base_url=srv.url, only="chb01/*.edf", progress=False)
        assert rep3.downloaded == ["chb01/chb01_01.edf"]


def test_dropped_connection_resumes_with_range(tmp_path):
    files = {**FILES, "SHA256SUMS.txt": _sums(FILES)}
    with Server(files, drop_once={"chb01/chb01_01.edf"}, drop_after=30_000) as srv:
        rep = download("chbmit", tmp_path, base_url=srv.url, jobs=1, progress=False)
    assert not rep.failed
    assert (tmp_path / "chb01/chb01_01.edf").read_bytes() == FILES["chb01/chb01_01.edf"]
    ranges = [r for p, r in srv.requests if p == "chb01/chb01_01.edf"]
    assert ranges == [None, "bytes=30000-"]
    assert not list(tmp_path.rglob("*.part"))


def test_bad_checksum_is_reported_and_not_kept(tmp_path, capsys):
    files = {**FILES, "SHA256SUMS.txt": _sums(FILES, corrupt={"chb01/chb01_01.edf"})}
    with Server(files) as srv:
        rep = download("chbmit", tmp_path, base_url=srv.url, progress=False)
        assert list(rep.failed) == ["chb01/chb01_01.edf"]
        assert "chb01_01.edf: checksum mismatch" in rep.failed["chb01/chb01_01.edf"]
        assert not (tmp_path / "chb01/chb01_01.edf").exists()
        assert not list(tmp_path.rglob("*.part"))
        code = main(["download", "chbmit", "--to", str(tmp_path), "--base-url", srv.url])
    out, err = capsys.readouterr()
    assert code == 7 and "FAILED chb01/chb01_01.edf" in out  # a partial failure: DownloadError's code
    (line,) = [ln for ln in err.splitlines() if ln.startswith("biodyn: error:")]
    assert "1 of 3 file(s) failed" in line and "chb01/chb01_01.edf: " in line and "checksum mismatch" in line
    assert (tmp_path / "chb01/chb01-summary.txt").is_file()  # the others are kept


def test_tusz_explains_access(capsys):
    assert main(["download", "tusz", "--to", "x"]) == 2
    assert "register" in capsys.readouterr().out.lower()
    with pytest.raises(DownloadError, match="Register"):
        download("tusz", "x")


def test_parse_sha256sums_errors():
    assert parse_sha256sums("a" * 64 + " *dir/f.edf\n") == {"dir/f.edf": "a" * 64}
    with pytest.raises(DownloadError, match="line 1"):
        parse_sha256sums("nothex file\n")
