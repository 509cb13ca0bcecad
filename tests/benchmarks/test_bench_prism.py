"""bench_prism: the seed interval and the equal-budget Transformer."""

import importlib.util
import math
from pathlib import Path

import numpy as np
import pytest

spec = importlib.util.spec_from_file_location(
    "bench_prism", Path(__file__).resolve().parents[2] / "benchmarks" / "bench_prism.py"
)
bench = importlib.util.module_from_spec(spec)
spec.loader.exec_module(bench)


def test_ci95_hand_worked():
    mean, half = bench.ci95([1.0, 2.0, 3.0])  # sd 1, t(0.975, 2) = 4.302653
    assert mean == 2.0 and math.isclose(half, 4.302653 / math.sqrt(3), rel_tol=1e-5)
    assert bench.ci95([0.5]) == (0.5, 0.0)


def test_transformer_matches_prism_parameter_budget():
    prism, tf, moe = bench._models(64, 4, 4)
    n_p, n_t = (sum(p.numel() for p in m.parameters()) for m in (prism, tf))
    assert abs(n_t - n_p) / n_p < 0.02
    # the MoE speed row: same width and depth, as many parameters per token as the dense PRISM (to within one
    # routed-expert unit per layer), more in all
    counts = moe.param_counts()
    assert moe.cfg.ffn == "moe" and abs(counts["active"] - n_p) <= 3 * 64 * 2 * 4 / 2 < counts["total"] - n_p


def test_merge_unites_split_accuracy_runs_and_refuses_clashes(tmp_path):
    """Runs that split the CIFAR ablation's patterns or seeds between processes merge into one JSON with each
    task's interval over all its seeds; a (task, seed) in two files, or files of different settings, are
    refused."""
    import json
    import subprocess
    import sys

    def part(name, rows, **over):
        doc = {
            "rows": [
                {
                    "part": "accuracy",
                    "modality": "image",
                    "model": m,
                    "seed": sd,
                    "metric": "accuracy",
                    "value": v,
                }
                for m, sd, v in rows
            ],
            "accuracy_config": {"hidden_dim": 64},
            "epochs_override": 3,
            "threads": 1,
            "quick": False,
            "modalities": ["image"],
            "elapsed_s": 10.0,
            "load_average": [1.0, 1.0, 1.0],
            "goals": {},
            **over,
        }
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(doc))
        return str(path)

    script = str(Path(bench.__file__))
    a = part("a", [("prism", 42, 1.0), ("prism", 123, 2.0), ("prism_s4", 42, 0.2)], commit="abc")
    b = part("b", [("prism", 7, 3.0), ("prism_s4", 123, 0.25)])
    out = tmp_path / "merged.json"
    run = subprocess.run(
        [sys.executable, script, "--merge", a, b, "--json", str(out)], capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    merged = json.loads(out.read_text())
    s = merged["accuracy_summary"]
    assert set(s) == {"image/prism", "image/prism_s4"} and s["image/prism"]["seeds"] == [42, 123, 7]
    assert (s["image/prism"]["mean"], s["image/prism"]["ci95"]) == pytest.approx(bench.ci95([1.0, 2.0, 3.0]))
    assert (
        len(merged["rows"]) == 5
        and merged["elapsed_s"] == 20.0
        and merged["merged_from"] == ["a.json", "b.json"]
        and merged["commits_of_parts"] == ["abc", None]
    )
    # a merge extended by a later run: the earlier merge's parts and commits are carried over
    c = part("c", [("prism", 0, 4.0)], commit="def", load_average=[2.0, 2.0, 2.0])
    out2 = tmp_path / "merged2.json"
    run = subprocess.run(
        [sys.executable, script, "--merge", str(out), c, "--json", str(out2)], capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    again = json.loads(out2.read_text())
    assert again["accuracy_summary"]["image/prism"]["seeds"] == [42, 123, 7, 0] and len(again["rows"]) == 6
    assert again["merged_from"] == ["a.json", "b.json", "c.json"]
    assert again["commits_of_parts"] == ["abc", None, "def"]
    assert again["load_average_of_parts"] == [[1.0] * 3, [1.0] * 3, [2.0] * 3] and again["elapsed_s"] == 30.0
    # a merge written before the parts' commits were recorded: its parts' commits are unknown, not the merge's
    legacy = json.loads(out.read_text())
    del legacy["commits_of_parts"]
    (tmp_path / "legacy.json").write_text(json.dumps(legacy))
    run = subprocess.run(
        [
            sys.executable,
            script,
            "--merge",
            str(tmp_path / "legacy.json"),
            c,
            "--json",
            str(tmp_path / "merged_legacy.json"),
        ],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    legacy_merged = json.loads((tmp_path / "merged_legacy.json").read_text())
    assert legacy_merged["commits_of_parts"] == [None, None, "def"]
    # --replace: a re-measured (task, seed) from a later file replaces the earlier row, which is listed
    new = part("n", [("prism_s4", 42, 0.3), ("prism_s4", 7, 0.4)], commit="fff")
    out3 = tmp_path / "merged3.json"
    run = subprocess.run(
        [sys.executable, script, "--merge", str(out2), new, "--replace", "--json", str(out3)],
        capture_output=True,
        text=True,
    )
    assert run.returncode == 0, run.stderr
    third = json.loads(out3.read_text())
    s4 = third["accuracy_summary"]["image/prism_s4"]
    assert sorted(s4["seeds"]) == [7, 42, 123] and len(third["rows"]) == 7
    assert s4["mean"] == pytest.approx(np.mean([0.3, 0.25, 0.4]))
    assert third["replaced"] == [
        {
            "task": "image/prism_s4",
            "seed": 42,
            "value": 0.2,
            "n_params": None,
            "from": "merged2.json",
            "by": "n.json",
        }
    ]
    for bad, why in (
        (part("c", [("prism", 42, 0.1)]), "also in"),
        (part("d", [("prism_delta", 42, 0.1)], epochs_override=5), "differs"),
    ):
        run = subprocess.run(
            [sys.executable, script, "--merge", a, bad, "--json", str(tmp_path / "x.json")],
            capture_output=True,
            text=True,
        )
        assert run.returncode == 2 and why in run.stderr


def test_models_pick_the_accuracy_tasks(monkeypatch):
    """``--models`` splits the PTB-XL comparison between processes: only the named models are trained."""
    import biodyn.systems.prism as prism_system  # bench_prism imports run_prism from it when it runs

    ran = []

    def fake_run(cfg):
        ran.append((cfg.modality, cfg.model, cfg.seed, cfg.epochs))
        return {
            "test": {"macro_auroc": 0.5},
            "model": cfg.model,
            "data": "real",
            "n_params": 1,
            "splits": {"test": 64},
        }

    monkeypatch.setattr(prism_system, "run_prism", fake_run)
    rows, summary, _ = bench.accuracy_part(False, [42, 7], None, ("ecg",), models=("resnet1d", "transformer"))
    assert ran == [("ecg", m, s, 20) for m in ("resnet1d", "transformer") for s in (42, 7)]
    assert set(summary) == {"ecg/resnet1d", "ecg/transformer"} and len(rows) == 4
