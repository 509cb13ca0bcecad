import json

import pytest

from biodyn.errors import ConfigError
from biodyn.metrics.stats import mean_ci
from biodyn.report import collect, make_report


def _write(root, budget, seed, auroc):
    p = root / "exp" / "cnn1d" / "ptbxl-multilabel" / budget / f"seed{seed}.json"
    p.parent.mkdir(parents=True, exist_ok=True)
    p.write_text(json.dumps({"metrics": {"test_macro_auroc": auroc}}))


def test_report_tables_and_gap(tmp_path):
    vals = {42: 0.8, 123: 0.82, 7: 0.79, 0: 0.81, 256: 0.83}
    for s, v in vals.items():
        _write(tmp_path, "100pct", s, v)
    for s in (42, 123, 7):  # seeds 0 and 256 missing
        _write(tmp_path, "10pct", s, vals[s] - 0.1)
    log = tmp_path / "exp" / "cnn1d" / "ptbxl-multilabel" / "100pct" / "run_seed42" / "log.jsonl"
    log.parent.mkdir()
    log.write_text('{"kind": "train", "step": 1, "loss": 1.0}\n{"kind": "train", "step": 2, "loss": 0.5}\n')
    rows = collect(tmp_path)
    full = next(r for r in rows if r["budget"] == "100pct")
    m, h = mean_ci(list(vals.values()))
    assert (
        full["mean"] == pytest.approx(m) and full["ci95"] == pytest.approx(h) and full["missing_seeds"] == []
    )
    part = next(r for r in rows if r["budget"] == "10pct")
    assert part["missing_seeds"] == [0, 256] and part["n"] == 3
    res = make_report(tmp_path)
    md = open(res["report"]).read()
    assert "missing seed 0,256" in md and f"{m:.3f} ± {h:.3f}" in md
    assert md.index("10pct") < md.index("100pct")
    assert r"\pm" in open(res["latex"]).read()
    assert len(res["figures"]) == 2 and all(f.endswith(".png") for f in res["figures"])


def test_report_empty_folder(tmp_path):
    with pytest.raises(ConfigError, match="no <experiment>"):
        collect(tmp_path)
    with pytest.raises(ConfigError, match="does not exist"):
        collect(tmp_path / "nope")


def test_topk_bars_name_the_experiment_when_there_are_several():
    """Regression: the focal bar chart labelled bars by model only, so one model under two experiments
    (focal, focal_edge0.01) gave two bars with the same label."""
    from biodyn.report.plot import topk_labels

    assert topk_labels([("focal", "a"), ("focal", "b")]) == ["a", "b"]
    assert topk_labels([("focal", "a"), ("focal_edge0.01", "a")]) == ["focal: a", "focal_edge0.01: a"]


def test_report_names_nonfinite_seeds(tmp_path):
    """A seed whose metric came out NaN (say a one-class test split) is left out of the mean and named."""
    for s, v in {42: 0.8, 123: float("nan"), 7: 0.7, 0: 0.75, 256: 0.72}.items():
        _write(tmp_path, "100pct", s, v)
    (row,) = collect(tmp_path)
    assert row["n"] == 4 and row["nonfinite_seeds"] == [123] and row["missing_seeds"] == []
    assert "(n=4; NaN at seed 123)" in open(make_report(tmp_path)["report"]).read()


def test_focal_topk_interval_is_over_seizures(tmp_path):
    """Zero-shot top-k: the seed mean with the Wilson interval over the seizures (a method that ranks the same
    in every seed has no spread over seeds; the per-seed interval tables are dropped)."""
    from biodyn.metrics.stats import wilson_interval

    for s, top1 in {42: 0.25, 123: 0.5, 7: 0.25, 0: 0.25, 256: 0.25}.items():
        p = tmp_path / "focal" / "pcmci" / "chbmit-focal" / "zeroshot" / f"seed{s}.json"
        p.parent.mkdir(parents=True, exist_ok=True)
        lo, hi = wilson_interval(top1 * 4, 4)
        p.write_text(
            json.dumps(
                {"metrics": {"n_seizures": 4, "top1": top1, "top1_ci95_low": lo, "top1_ci95_high": hi}}
            )
        )
    rows = collect(tmp_path)
    assert sorted(r["metric"] for r in rows) == ["n_seizures", "top1"]
    top1 = next(r for r in rows if r["metric"] == "top1")
    assert top1["mean"] == pytest.approx(0.3) and top1["n_seizures"] == 4
    assert top1["interval"] == pytest.approx(list(wilson_interval(1.2, 4)))
    md = open(make_report(tmp_path)["report"]).read()
    lo, hi = wilson_interval(1.2, 4)
    assert f"0.300 [{lo:.3f}, {hi:.3f}]" in md and "Wilson interval over the seizures" in md
