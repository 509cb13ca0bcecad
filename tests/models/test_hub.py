"""Hub-ready exports: the model card, biodyn export of a run, from_pretrained by Hub id served offline from
huggingface_hub's cache layout (never the network), push_to_hub, and the one-line error without the extra."""

import json
import shutil
import socket
import sys

import pytest
import torch
import yaml

from biodyn.cli import main
from biodyn.errors import CheckpointError, ConfigError
from biodyn.models import create_model, from_pretrained, push_to_hub, save_pretrained
from biodyn.models.seizure import TEST_CONFIG

SMALL = TEST_CONFIG  # the registry's small Brain-Go-Brr detector
MCFG = {"n_chans": 4, "n_outputs": 1, "n_times": 512, "sfreq": 256.0, **SMALL}


@pytest.fixture(autouse=True)
def no_network(monkeypatch):
    """Any attempt to open a connection beyond the loopback interface fails the test."""
    connect, create = socket.socket.connect, socket.create_connection

    def loopback(address) -> bool:
        return isinstance(address, tuple) and address[0] in ("127.0.0.1", "localhost", "::1")

    def guarded_connect(self, address, *a, **k):
        if not loopback(address):
            raise AssertionError(f"network access attempted: {address}")
        return connect(self, address, *a, **k)

    def guarded_create(address, *a, **k):
        if not loopback(address):
            raise AssertionError(f"network access attempted: {address}")
        return create(address, *a, **k)

    monkeypatch.setattr(socket.socket, "connect", guarded_connect)
    monkeypatch.setattr(socket, "create_connection", guarded_create)


def _model(seed):
    torch.manual_seed(seed)
    return create_model("seizure_tiny", **MCFG)


def _same_weights(a, b):
    sa, sb = a.state_dict(), b.state_dict()
    return sa.keys() == sb.keys() and all(torch.equal(sa[k], sb[k]) for k in sa)


def _front_matter(text):
    assert text.startswith("---\n")
    return yaml.safe_load(text.split("---\n")[1])


def test_card_has_the_hub_front_matter(tmp_path):
    from huggingface_hub import ModelCard

    card = {
        "license": "mit",
        "datasets": ["chbmit"],
        "tags": ["demo"],
        "command": "biodyn train experiment=x",
        "metrics": {"test_auroc": 0.91, "test_sens_at_10fa": 0.5, "test_loss": float("nan")},
        "experiment": {"data": {"corpus": "chbmit"}},
        "repo_name": "org/tiny",
    }
    folder = save_pretrained(_model(0), tmp_path / "exp", card=card)
    text = (folder / "README.md").read_text()
    fm = _front_matter(text)
    assert fm["library_name"] == "biodyn" and fm["license"] == "mit" and fm["datasets"] == ["chbmit"]
    assert {"biodyn", "seizure_tiny", "seizure-detection", "demo"} <= set(fm["tags"])
    assert fm["metrics"] == ["auroc", "sens_at_10fa"]  # the NaN loss is not a figure
    assert "`biodyn train experiment=x`" in text and '"tcn_channels"' in text and "not measured again" in text
    # huggingface_hub reads the card as the Hub would, model-index included
    hf = ModelCard.load(folder / "README.md")
    assert hf.data.library_name == "biodyn"
    assert {r.metric_name: r.metric_value for r in hf.data.eval_results} == {
        "test_auroc": 0.91,
        "test_sens_at_10fa": 0.5,
    }
    # without card fields: a card all the same, saying what is missing
    text = (save_pretrained(_model(0), tmp_path / "bare") / "README.md").read_text()
    assert _front_matter(text)["license"] == "other" and "No results were recorded" in text


def _run(tmp_path):
    """A seizure run folder: checkpoints/best (weights + the data spec) and results.json."""
    from biodyn.signal.config import SEIZURE_EEG
    from biodyn.train.checkpoint import save_checkpoint

    model = _model(1)
    spec = {
        "channels": ["Fp1-F7", "F7-T7", "T7-P7", "P7-O1"],
        "fs": 256.0,
        "window_s": 2.0,
        "preprocess": SEIZURE_EEG.to_dict(),
    }
    run = tmp_path / "run"
    save_checkpoint(
        run / "checkpoints" / "best",
        model=model,
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
        state={"model_name": "seizure_tiny", "model_config": MCFG, "step": 7, "extra": {"data": spec}},
    )
    results = {
        "experiment": "seizure_tiny",
        "model": "seizure_tiny",
        "task": "chbmit_excerpts-per_sample",
        "metrics": {"val_auroc": 0.7, "test_auroc": 0.8125, "test_sens_at_10fa": 0.25},
        "config": {"name": "seizure_tiny", "data": {"corpus": "chbmit_excerpts"}},
        "command": "biodyn train experiment=seizure_tiny train.epochs=1",
        "git_commit": "abc123",
        "versions": {"torch": "2.x"},
    }
    (run / "results.json").write_text(json.dumps(results))
    return run, model


def test_export_of_a_run_loads_back_by_path(tmp_path, capsys):
    run, model = _run(tmp_path)
    assert main(["export", str(run), str(tmp_path / "exp"), "--license", "cc-by-4.0", "--tag", "siena"]) == 0
    assert "exported seizure_tiny" in capsys.readouterr().out
    text = (tmp_path / "exp" / "README.md").read_text()
    fm = _front_matter(text)
    assert fm["license"] == "cc-by-4.0" and fm["datasets"] == ["chbmit_excerpts"] and "siena" in fm["tags"]
    assert fm["metrics"] == ["auroc", "sens_at_10fa"]  # the test split's; val_ is not reported
    assert (
        "biodyn train experiment=seizure_tiny train.epochs=1" in text and "trained at commit abc123" in text
    )
    assert '"window_s": 2.0' in text and "0.8125" in text
    assert _same_weights(from_pretrained(tmp_path / "exp"), model)
    with pytest.raises(CheckpointError, match="no such run folder"):
        main(["--debug", "export", str(tmp_path / "nope"), str(tmp_path / "x")])


def _serve_from_cache(cache, repo_id, ref, commit, folder):
    """Put ``folder``'s files in huggingface_hub's cache layout as commit ``commit`` with ``refs/<ref>``."""
    repo = cache / f"models--{repo_id.replace('/', '--')}"
    snap = repo / "snapshots" / commit
    snap.mkdir(parents=True)
    for f in folder.iterdir():
        shutil.copy(f, snap / f.name)
    (repo / "refs").mkdir(exist_ok=True)
    (repo / "refs" / ref).write_text(commit)


def test_from_pretrained_by_hub_id_offline(tmp_path, monkeypatch):
    cache = tmp_path / "hf"
    m_main, m_v1 = _model(2), _model(3)
    c_main, c_v1 = "a" * 40, "b" * 40
    _serve_from_cache(cache, "biodyn-test/tiny", "main", c_main, save_pretrained(m_main, tmp_path / "e1"))
    _serve_from_cache(cache, "biodyn-test/tiny", "v1", c_v1, save_pretrained(m_v1, tmp_path / "e2"))
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    monkeypatch.chdir(tmp_path)  # no local folder named biodyn-test/tiny
    assert _same_weights(from_pretrained("biodyn-test/tiny"), m_main)
    assert _same_weights(from_pretrained("biodyn-test/tiny", revision="v1"), m_v1)
    assert _same_weights(from_pretrained("biodyn-test/tiny@v1"), m_v1)
    assert _same_weights(from_pretrained("biodyn-test/tiny", revision=c_v1), m_v1)
    assert not _same_weights(m_main, m_v1)
    with pytest.raises(CheckpointError, match=r"biodyn-test/tiny@v2: no such local folder.*\(offline\)") as e:
        from_pretrained("biodyn-test/tiny@v2")
    assert "\n" not in str(e.value)
    with pytest.raises(ConfigError, match="revision given twice"):
        from_pretrained("biodyn-test/tiny@v1", revision="main")
    with pytest.raises(ConfigError, match="revisions are for Hub ids"):
        from_pretrained(tmp_path / "e1", revision="v1")


def test_without_the_extra_one_line_naming_it(tmp_path, monkeypatch):
    monkeypatch.setitem(sys.modules, "huggingface_hub", None)  # import fails as if not installed
    monkeypatch.chdir(tmp_path)
    with pytest.raises(ConfigError) as e:
        from_pretrained("org/name")
    msg = str(e.value)
    assert (
        "\n" not in msg
        and "pip install 'biodyn[hub]'" in msg
        and msg.startswith("org/name: no such local folder")
    )
    with pytest.raises(ConfigError, match=r"biodyn\[hub\]"):
        push_to_hub(tmp_path, "org/name")
    save_pretrained(_model(0), tmp_path / "local")
    assert from_pretrained(tmp_path / "local") is not None  # local folders need no extra


class FakeHub:
    """An HfApi stand-in recording calls; ``upload_folder`` stores the files as a new commit in the cache
    layout that ``from_pretrained`` then reads offline."""

    def __init__(self, cache):
        self.cache, self.calls, self.n = cache, [], 0

    def create_repo(self, repo_id, private=None, exist_ok=False):
        self.calls.append(("create_repo", repo_id, private, exist_ok))

    def create_branch(self, repo_id, branch, exist_ok=False):
        self.calls.append(("create_branch", repo_id, branch))

    def upload_folder(self, repo_id, folder_path, commit_message, revision=None):
        from pathlib import Path

        self.n += 1
        commit = f"{self.n:040x}"
        self.calls.append(
            ("upload_folder", repo_id, sorted(p.name for p in Path(folder_path).iterdir()), revision)
        )
        repo = self.cache / f"models--{repo_id.replace('/', '--')}"
        if (repo / "refs" / (revision or "main")).exists():
            (repo / "refs" / (revision or "main")).unlink()
        _serve_from_cache(self.cache, repo_id, revision or "main", commit, Path(folder_path))
        return f"https://hub.invalid/{repo_id}/commit/{commit}"


def test_push_to_hub_round_trip(tmp_path, monkeypatch):
    hub = FakeHub(tmp_path / "hf")
    model = _model(4)
    url = push_to_hub(model, "org/pushed", api=hub, card={"license": "mit"}, private=True)
    assert url.endswith("/commit/" + "0" * 39 + "1")
    assert hub.calls[0] == ("create_repo", "org/pushed", True, True)
    assert hub.calls[1] == (
        "upload_folder",
        "org/pushed",
        ["README.md", "config.json", "model.safetensors"],
        None,
    )
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    monkeypatch.setenv("HF_HUB_CACHE", str(hub.cache))
    monkeypatch.chdir(tmp_path)
    assert _same_weights(from_pretrained("org/pushed"), model)
    # an export folder to a branch
    other = _model(5)
    push_to_hub(save_pretrained(other, tmp_path / "exp"), "org/pushed", revision="dev", api=hub)
    assert ("create_branch", "org/pushed", "dev") in hub.calls
    assert _same_weights(from_pretrained("org/pushed@dev"), other)
    assert _same_weights(from_pretrained("org/pushed"), model)
    card = (hub.cache / "models--org--pushed" / "snapshots" / ("0" * 39 + "1") / "README.md").read_text()
    assert _front_matter(card)["license"] == "mit" and 'from_pretrained("org/pushed")' in card
    with pytest.raises(ConfigError, match="invalid repo_id"):
        push_to_hub(model, "not a repo", api=hub)
    with pytest.raises(CheckpointError, match="not an exported model"):
        push_to_hub(tmp_path, "org/pushed", api=hub)


def test_export_of_a_prism_shaped_run(tmp_path):
    """A run folder whose own config.json is the run's config (not an export), with test figures under
    "test" as biodyn prism writes them; and a folder holding an export under model/."""
    from biodyn.train.checkpoint import save_checkpoint
    from biodyn.train.export import export_run

    torch.manual_seed(6)
    mc = {"n_chans": 12, "n_outputs": 5, "n_times": 1000, "sfreq": 100.0}
    model = create_model("cnn1d", **mc)
    run = tmp_path / "prism_run"
    save_checkpoint(
        run / "checkpoints" / "best",
        model=model,
        optimizer=torch.optim.SGD(model.parameters(), lr=0.1),
        state={"model_name": "cnn1d", "model_config": model.init_config(), "step": 3},
    )
    (run / "config.json").write_text(json.dumps({"run": {"modality": "ecg"}, "model": "cnn1d"}))
    (run / "results.json").write_text(
        json.dumps(
            {
                "command": "biodyn prism",
                "modality": "ecg",
                "data": "ptbxl",
                "test": {"accuracy": 0.5, "macro_auroc": 0.75},
            }
        )
    )
    rep = export_run(run, tmp_path / "exp")
    assert rep["checkpoint"].endswith("checkpoints/best")
    fm = _front_matter((tmp_path / "exp" / "README.md").read_text())
    assert fm["datasets"] == ["ptbxl"] and fm["metrics"] == ["accuracy", "macro_auroc"]
    assert _same_weights(from_pretrained(tmp_path / "exp"), model)
    joint = tmp_path / "joint"
    save_pretrained(model, joint / "model")
    (joint / "results.json").write_text(json.dumps({"command": "biodyn prism", "test": {"accuracy": 0.25}}))
    export_run(joint, tmp_path / "exp2")
    assert "| test_accuracy | 0.25 |" in (tmp_path / "exp2" / "README.md").read_text()
    with pytest.raises(CheckpointError, match="neither an export nor a run"):
        export_run(tmp_path / "exp2" / "..", tmp_path / "exp3")


def _hub_server(repos, log):
    """A loopback server answering the requests snapshot_download makes (revision info, file tree, resolve)
    from ``repos`` ``{repo_id: {"refs": {name: sha}, "files": {sha: {file: bytes}}}}``; requests go to ``log``."""
    import hashlib
    import http.server
    import threading
    from urllib.parse import unquote, urlparse

    class Handler(http.server.BaseHTTPRequestHandler):
        def log_message(self, *a):
            pass

        def _repo_rev(self, parts):
            repo = "/".join(parts[:2])
            if repo not in repos:
                return None, None
            return repo, parts[3] if len(parts) > 3 else "main"

        def _send(self, code, body=b"", headers=None):
            self.send_response(code)
            for k, v in (headers or {}).items():
                self.send_header(k, v)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def do_HEAD(self):
            self.do_GET()

        def do_GET(self):
            path = unquote(urlparse(self.path).path)
            log.append((self.command, path))
            parts = path.strip("/").split("/")
            if parts[:2] == ["api", "models"] and len(parts) >= 6 and parts[4] in ("revision", "tree"):
                repo = "/".join(parts[2:4])
                info = repos.get(repo)
                sha = info and info["refs"].get(
                    parts[5], parts[5] if parts[5] in info["refs"].values() else None
                )
                if not sha:
                    return self._send(404, b'{"error": "not found"}', {"X-Error-Code": "RevisionNotFound"})
                files = info["files"][sha]
                if parts[4] == "revision":
                    body = {"id": repo, "sha": sha, "siblings": [{"rfilename": f} for f in files]}
                else:
                    body = [
                        {"type": "file", "path": f, "size": len(b), "oid": hashlib.sha1(b).hexdigest()}
                        for f, b in files.items()
                    ]
                return self._send(200, json.dumps(body).encode(), {"Content-Type": "application/json"})
            if len(parts) >= 5 and parts[2] == "resolve":
                repo, info = "/".join(parts[:2]), repos.get("/".join(parts[:2]))
                sha = info and info["refs"].get(
                    parts[3], parts[3] if parts[3] in info["refs"].values() else None
                )
                data = info and sha and info["files"][sha].get("/".join(parts[4:]))
                if data is None:
                    return self._send(404, b"", {"X-Error-Code": "EntryNotFound"})
                etag = f'"{hashlib.sha1(data).hexdigest()}"'
                return self._send(200, data, {"X-Repo-Commit": sha, "ETag": etag})
            return self._send(404)

    srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=srv.serve_forever, daemon=True).start()
    return srv


def test_from_pretrained_by_hub_id_over_http(tmp_path, monkeypatch):
    """The online path: snapshot_download against a loopback server speaking the Hub's endpoints
    (revision info, file tree, resolve), via HF_ENDPOINT; the files land in HF_HUB_CACHE."""
    import huggingface_hub.constants

    m1, m2 = _model(7), _model(8)
    files = {}
    for sha, m in (("c" * 40, m1), ("d" * 40, m2)):
        d = save_pretrained(m, tmp_path / sha[:4])
        files[sha] = {f.name: f.read_bytes() for f in d.iterdir()}
    repos = {"biodyn-test/served": {"refs": {"main": "c" * 40, "v2": "d" * 40}, "files": files}}
    log = []
    srv = _hub_server(repos, log)
    try:
        monkeypatch.setattr(huggingface_hub.constants, "HF_HUB_OFFLINE", False)
        monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
        monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{srv.server_address[1]}")
        monkeypatch.setenv("HF_HUB_CACHE", str(tmp_path / "cache"))
        monkeypatch.chdir(tmp_path)
        assert _same_weights(from_pretrained("biodyn-test/served"), m1)
        assert _same_weights(from_pretrained("biodyn-test/served", revision="v2"), m2)
        assert any(p.endswith("/resolve/" + "c" * 40 + "/model.safetensors") for _, p in log), log
        assert (tmp_path / "cache" / "models--biodyn-test--served" / "refs" / "v2").read_text() == "d" * 40
        with pytest.raises(CheckpointError, match="biodyn-test/served@v9: no such local folder"):
            from_pretrained("biodyn-test/served@v9")
    finally:
        srv.shutdown()
