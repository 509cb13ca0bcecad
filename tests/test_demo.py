import json

import pytest

from biodyn.cli import main


def test_demo_without_data_runs_on_synthetic(tmp_path, monkeypatch, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("BIODYN_DATA_ROOT", str(empty))
    assert main(["demo", "--out", str(tmp_path / "out"), "--steps", "corpora", "cache"]) == 0
    out = capsys.readouterr().out
    lines = out.strip().splitlines()
    assert "SYNTHETIC" in lines[0] and "SYNTHETIC" in lines[-1]  # said on the first and the last line
    res = json.loads((tmp_path / "out" / "demo.json").read_text())
    assert res["synthetic"] is True and res["cache"]["corpus"] == "synthetic" and res["cache"]["windows"] > 0


@pytest.mark.slow
def test_demo_lags_step_on_synthetic(tmp_path, monkeypatch, capsys):
    empty = tmp_path / "empty"
    empty.mkdir()
    monkeypatch.setenv("BIODYN_DATA_ROOT", str(empty))
    assert main(["demo", "--out", str(tmp_path / "out"), "--steps", "lags"]) == 0
    res = json.loads((tmp_path / "out" / "demo.json").read_text())
    assert all(r["f1"] == 1.0 and r["tau_mae_samples"] < 0.1 for r in res["lags"]["synthetic"])
    assert "skipped" in capsys.readouterr().out


def test_demo_report_has_a_section_and_a_figure_per_step(tmp_path, monkeypatch, capsys):
    import base64
    import re

    from biodyn._cli.demo import DemoContext, write_report
    from biodyn._cli.demo_report import table

    ctx = DemoContext(root=None, out=tmp_path)
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    for step in ("prism", "seizure", "lags"):
        fig, ax = plt.subplots()
        ax.plot([0, 1], [1, 0])
        fig.savefig(tmp_path / f"{step}.png")
        plt.close(fig)
        ctx.results[step] = {
            "metric": 0.5,
            "nested": {"n": 3},
            "time_s": 12.34,
            "headline": {
                "data": f"{step} data",
                "size": "3 records",
                "real": False,
                "result": f"{step} score 0.500",
                "reference": "chance 0.10",
            },
            "tables": [table("scores", ["metric", "value"], [["accuracy", 0.123456]])],
        }
        ctx.add_figure(step, tmp_path / f"{step}.png", f"{step} figure")
    html = write_report(ctx, tmp_path / "report.html").read_text()
    assert "SYNTHETIC" in html
    for title in ("PRISM", "Seizure detection (Brain-Go-Brr)", "Propagation lags (CLD-Trans)"):
        assert title in html
    # the summary comes first: one row per step, named columns, the time rounded
    assert html.index("Summary") < html.index("PRISM: results")
    for col in ("step", "data", "size", "real or synthetic", "result", "reference", "time (s)"):
        assert f"<th>{col}</th>" in html
    assert "<td>prism data</td>" in html and "<td>chance 0.10</td>" in html and "<td>12.3</td>" in html
    assert "<td>0.123</td>" in html  # rounded
    # no flattened key paths: only the tables a step gives
    assert "nested.n" not in html and "<code>" not in html
    # the figures themselves, embedded (mne.Report's figure blocks, not its stylesheet icons)
    images = re.findall(
        r'<img class="figure-img[^>]*alt="([^"]+)"\s+src="data:image/png;base64,([A-Za-z0-9+/=]+)"', html
    )
    assert [alt.split(":")[0] for alt, _ in images] == [
        "PRISM",
        "Seizure detection (Brain-Go-Brr)",
        "Propagation lags (CLD-Trans)",
    ]
    assert all(base64.b64decode(data)[:4] == b"\x89PNG" for _, data in images)
    assert not list(tmp_path.glob(".report.html*"))  # nothing half-written left behind


@pytest.mark.slow
def test_demo_seizure_step_detects_only_on_unseen_data(tmp_path, monkeypatch):
    """The detector shown never trained or tuned on chb01_03, and the threshold it used is the one every
    output reports (detect.json top level and per recording)."""
    from biodyn._cli import demo
    from biodyn.data_root import data_root

    root = data_root()
    if root is None or not (root / "chbmit" / "edf_crops").is_dir():
        pytest.skip("no CHB-MIT material under the data root")
    monkeypatch.setattr(
        demo,
        "DEMO_SEIZURE",
        [
            "model=seizure_gdn",
            "train.max_steps=2",
            "train.eval_every=2",
            "train.ckpt_every=2",
            "train.patience=0",
        ],
    )
    ctx = demo.DemoContext(root=root, out=tmp_path)
    res = demo.step_seizure(ctx)
    assert res["train_records"] and not any(r.startswith("chb01_03") for r in res["train_records"])
    assert all(r.startswith("chb01_") for r in res["train_records"])
    assert all(r.startswith("chb03_") for r in res["dev_records"])  # tuned on another patient
    js = json.loads((tmp_path / "seizure" / "detect.json").read_text())
    assert (
        js["threshold"] == res["threshold"]
        and [r["threshold"] for r in js["recordings"]] == [res["threshold"]] * 2
    )
    assert [r["recording"].rsplit("/", 1)[-1] for r in js["recordings"]] == [
        "chb01_03_Seizure.edf",
        "chb01_03_NonSeizure.edf",
    ]
    h = res["headline"]
    assert h["real"] is True and "chb01_03" in h["data"] and "chance" in h["reference"]
    assert [p.name for p, _ in ctx.figures["seizure"]][:2] == [
        "chb01_03_Seizure.png",
        "chb01_03_NonSeizure.png",
    ]
