"""PhysioNet downloads: resumable (HTTP Range), verified against ``SHA256SUMS.txt``, parallel.

Every file goes to ``<dest>.part`` first and is renamed into place only after its SHA-256 matches the
corpus's list, so an interrupted or corrupt download never leaves a wrong file under its final name.
A rerun skips files that are already verified and resumes ``.part`` files where they stopped.
"""

from __future__ import annotations

import fnmatch
import hashlib
import http.client
import os
import urllib.error
import urllib.request
from concurrent.futures import ThreadPoolExecutor, as_completed
from dataclasses import dataclass, field
from pathlib import Path

from biodyn.errors import BiodynError, check_option

PHYSIONET = "https://physionet.org/files/"
SLUGS = {
    "chbmit": "chbmit/1.0.0",
    "siena": "siena-scalp-eeg/1.0.0",
    "ptbxl": "ptb-xl/1.0.3",
    "sleepedf": "sleep-edfx/1.0.0",
    "eegmmidb": "eegmmidb/1.0.0",
    "mimic_ecg": "mimic-iv-ecg/1.0",
}
TUSZ_ACCESS = """TUSZ is not on PhysioNet and cannot be downloaded anonymously.
1. Register (free) with the Neural Engineering Data Consortium: fill in the TUH EEG data request form at
   https://isip.piconepress.com/projects/nedc/html/tuh_eeg/ and email the signed form as it says.
2. You receive a username and password for the corpus' rsync server; then, for TUSZ v2.0.x:
   rsync -auxvL nedc-tuh-eeg@www.isip.piconepress.com:data/tuh_eeg/tuh_eeg_seizure/v2.0.3/ DIR/
3. Point biodyn at DIR: `biodyn info tusz --root DIR/edf`."""
CHUNK = 1 << 16


class DownloadError(BiodynError):
    """A file that could not be downloaded or verified (the message names it)."""

    exit_code = 7


@dataclass
class DownloadReport:
    downloaded: list[str] = field(default_factory=list)
    skipped: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    bytes: int = 0

    def to_dict(self) -> dict:
        return {
            "downloaded": self.downloaded,
            "skipped": self.skipped,
            "failed": self.failed,
            "bytes": self.bytes,
        }


def parse_sha256sums(text: str, source: str = "SHA256SUMS.txt") -> dict[str, str]:
    """``{relative path: hex digest}`` from ``sha256sum`` output (``<hash>  <path>``, optional ``*``)."""
    out = {}
    for lineno, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        parts = line.strip().split(maxsplit=1)
        if len(parts) != 2 or len(parts[0]) != 64:
            raise DownloadError(f"{source}: line {lineno}: not '<sha256> <path>': {line!r}")
        out[parts[1].lstrip("*").strip()] = parts[0].lower()
    return out


def sha256_file(path: str | os.PathLike) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def _fetch_text(url: str, timeout: float) -> str:
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.read().decode()
    except (urllib.error.URLError, OSError) as e:
        raise DownloadError(f"{url}: cannot fetch: {e}") from e


def safe_destination(to: str | os.PathLike, rel: str) -> Path:
    """``to / rel`` after checking that it stays inside ``to``: ``rel`` must be a relative path without ``..``
    parts, and neither the destination, its ``.part`` file nor any folder between them and ``to`` may be a
    symbolic link (one could point anywhere). Anything else is a :class:`DownloadError` naming ``rel``."""
    import posixpath

    to = Path(to)
    norm = rel.replace("\\", "/")
    parts = norm.split("/")
    if (
        not rel
        or posixpath.isabs(norm)
        or Path(rel).is_absolute()
        or ":" in parts[0]
        or ".." in parts
        or any(p in ("", ".") for p in parts)
        or "\x00" in rel
    ):
        raise DownloadError(f"{rel!r}: refused: not a plain relative path inside --to {to}")
    dest = to.joinpath(*parts)
    probe = to
    for part in parts:
        probe = probe / part
        if probe.is_symlink():
            raise DownloadError(
                f"{rel!r}: refused: {probe} is a symbolic link (it could lead outside --to {to})"
            )
    part_file = dest.with_name(dest.name + ".part")
    if part_file.is_symlink():
        raise DownloadError(
            f"{rel!r}: refused: {part_file} is a symbolic link (it could lead outside --to {to})"
        )
    real_to = os.path.realpath(to)
    if os.path.commonpath([real_to, os.path.realpath(dest)]) != real_to:
        raise DownloadError(f"{rel!r}: refused: resolves outside --to {to}")
    return dest


def _content_total(r, offset: int, appended: bool) -> int | None:
    """The full file size the response promises (from ``Content-Range`` or ``Content-Length``), if any."""
    cr = r.headers.get("Content-Range")
    if cr and "/" in cr and cr.rsplit("/", 1)[1].strip().isdigit():
        return int(cr.rsplit("/", 1)[1])
    cl = r.headers.get("Content-Length")
    if cl is not None and cl.strip().isdigit():
        return int(cl) + (offset if appended else 0)
    return None


def download_file(
    url: str,
    dest: str | os.PathLike,
    sha256: str | None,
    *,
    retries: int = 5,
    timeout: float = 60.0,
    on_bytes=None,
) -> str:
    """Download ``url`` to ``dest`` through ``dest.part`` with Range resumption; returns ``"skipped"``
    when ``dest`` already holds the right bytes, else ``"downloaded"``. A checksum mismatch deletes the
    partial file and raises :class:`DownloadError` naming the file and both digests.

    A response without ``Content-Length`` (nor ``Content-Range``) cannot tell a dropped connection from the
    end of the file: when its bytes do not match the checksum yet, the download resumes with a Range request,
    and only a server that has no more bytes to give (416, or an empty body) makes it a mismatch."""
    dest = Path(dest)
    if dest.is_symlink():
        raise DownloadError(f"{dest}: refused: the destination is a symbolic link")
    if dest.exists() and (sha256 is None or sha256_file(dest) == sha256):
        return "skipped"
    dest.parent.mkdir(parents=True, exist_ok=True)
    part = dest.with_name(dest.name + ".part")
    if part.is_symlink():
        raise DownloadError(f"{part}: refused: the partial file is a symbolic link")
    last_error: Exception | None = None
    attempts = 0
    while True:
        attempts += 1
        if attempts > retries + 1:
            raise DownloadError(f"{dest.name}: gave up after {retries + 1} attempts: {last_error}")
        offset = part.stat().st_size if part.exists() else 0
        req = urllib.request.Request(url, headers={"Range": f"bytes={offset}-"} if offset else {})
        got = 0
        try:
            with urllib.request.urlopen(req, timeout=timeout) as r:
                appended = bool(offset and r.status == 206)
                flags = os.O_WRONLY | os.O_CREAT | (os.O_APPEND if appended else os.O_TRUNC)
                fd = os.open(part, flags | getattr(os, "O_NOFOLLOW", 0), 0o666)
                with os.fdopen(fd, "wb") as f:
                    while True:
                        block = r.read(CHUNK)
                        if not block:
                            break
                        f.write(block)
                        got += len(block)
                        if on_bytes:
                            on_bytes(len(block))
                total = _content_total(r, offset, appended)
                size = part.stat().st_size
                if total is not None and size < total:
                    raise http.client.IncompleteRead(b"", total - size)
        except urllib.error.HTTPError as e:
            if e.code != 416 or not offset:  # 416: the .part already holds every byte there is
                raise DownloadError(f"{dest.name}: HTTP {e.code} from {url}") from e
            total, got = offset, 0
        except (
            TimeoutError,
            http.client.IncompleteRead,
            ConnectionError,
            urllib.error.URLError,
            OSError,
        ) as e:
            last_error = e
            continue
        if sha256 is None or sha256_file(part) == sha256:
            break
        if total is None and got > 0:  # unknown length: maybe a dropped connection; ask for the rest
            last_error = DownloadError(
                f"{dest.name}: {part.stat().st_size} bytes so far do not match the checksum"
            )
            continue
        digest = sha256_file(part)
        part.unlink(missing_ok=True)
        raise DownloadError(
            f"{dest.name}: checksum mismatch: expected {sha256}, got {digest}; partial file removed"
        )
    os.replace(part, dest)
    return "downloaded"


def download(
    dataset: str,
    to: str | os.PathLike,
    *,
    only: str | None = None,
    jobs: int = 4,
    base_url: str | None = None,
    progress: bool = True,
    timeout: float = 60.0,
) -> DownloadReport:
    """Download a PhysioNet corpus (``chbmit``, ``siena``, ``ptbxl``, ``sleepedf``, ``eegmmidb``, ``mimic_ecg``) into ``to``.

    ``only`` is a glob on the relative paths of ``SHA256SUMS.txt`` (e.g. ``"chb01/*"``); ``base_url``
    replaces ``https://physionet.org/files/<slug>/`` (mirrors, tests). Failures are collected in the report.
    """
    if dataset == "tusz":
        raise DownloadError(TUSZ_ACCESS)
    check_option("dataset", dataset, SLUGS)
    base = (base_url or PHYSIONET + SLUGS[dataset]).rstrip("/") + "/"
    to = Path(to)
    sums_text = _fetch_text(base + "SHA256SUMS.txt", timeout)
    sums = parse_sha256sums(sums_text, base + "SHA256SUMS.txt")
    # every destination must stay inside `to`; a list naming anything else is refused before a byte is written
    refused = []
    for rel in sums:
        try:
            safe_destination(to, rel)
        except DownloadError as e:
            refused.append(str(e))
    if refused:
        raise DownloadError(
            f"{base}SHA256SUMS.txt: {len(refused)} of {len(sums)} paths refused, nothing downloaded: "
            + "; ".join(refused[:5])
        )
    if only:
        sums = {p: h for p, h in sums.items() if fnmatch.fnmatch(p, only)}
        if not sums:
            raise DownloadError(f"--only {only!r} matches no file of {dataset}'s SHA256SUMS.txt")
    from biodyn.atomic import atomic_write_text

    to.mkdir(parents=True, exist_ok=True)
    atomic_write_text(safe_destination(to, "SHA256SUMS.txt"), sums_text)
    report = DownloadReport()
    from tqdm.auto import tqdm

    bar = tqdm(total=len(sums), unit="file", desc=f"download {dataset}", disable=not progress)

    def count(n: int) -> None:
        report.bytes += n

    with ThreadPoolExecutor(max(1, jobs)) as pool:
        futures = {
            pool.submit(
                download_file,
                base + urllib.request.pathname2url(rel).lstrip("/"),
                safe_destination(to, rel),
                digest,
                timeout=timeout,
                on_bytes=count,
            ): rel
            for rel, digest in sorted(sums.items())
        }
        for fut in as_completed(futures):
            rel = futures[fut]
            try:
                (report.skipped if fut.result() == "skipped" else report.downloaded).append(rel)
            except DownloadError as e:
                report.failed[rel] = str(e)
            bar.update(1)
            bar.set_postfix(MB=f"{report.bytes / 1e6:.1f}", failed=len(report.failed))
    bar.close()
    report.downloaded.sort()
    report.skipped.sort()
    return report
