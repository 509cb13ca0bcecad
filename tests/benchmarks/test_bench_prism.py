"""bench_prism: the seed interval and the equal-budget Transformer."""

import importlib.util
import math
from pathlib import Path

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
    prism, tf = bench._models(64, 4, 4)
    n_p, n_t = (sum(p.numel() for p in m.parameters()) for m in (prism, tf))
    assert abs(n_t - n_p) / n_p < 0.02


def test_merge_unites_split_accuracy_runs_and_refuses_clashes(tmp_path):
    """Runs that split the CIFAR ablation's patterns between processes merge into one JSON; the same task in
    two files, or files of different settings, are refused."""
    import json
    import subprocess
    import sys

    def part(name, key, values, **over):
        doc = {"rows": [{"part": "accuracy", "model": key, "seed": s, "value": v} for s, v in zip((42, 123), values)],
               "accuracy_summary": {f"image/{key}": {"metric": "accuracy", "mean": sum(values) / 2, "ci95": 0.1,
                                                     "n_seeds": 2, "values": values}},
               "accuracy_config": {"hidden_dim": 64}, "epochs_override": 3, "threads": 1, "quick": False,
               "modalities": ["image"], "elapsed_s": 10.0, "load_average": [1.0, 1.0, 1.0], "goals": {}, **over}  # fmt: skip
        path = tmp_path / f"{name}.json"
        path.write_text(json.dumps(doc))
        return str(path)

    script = str(Path(bench.__file__))
    a, b = part("a", "prism", [0.4, 0.3]), part("b", "prism_s4", [0.2, 0.25])
    out = tmp_path / "merged.json"
    run = subprocess.run(
        [sys.executable, script, "--merge", a, b, "--json", str(out)], capture_output=True, text=True
    )
    assert run.returncode == 0, run.stderr
    merged = json.loads(out.read_text())
    assert set(merged["accuracy_summary"]) == {"image/prism", "image/prism_s4"}
    assert [r["value"] for r in merged["rows"]] == [0.4, 0.3, 0.2, 0.25] and merged["elapsed_s"] == 20.0
    assert merged["merged_from"] == ["a.json", "b.json"] and merged["epochs_override"] == 3
    for bad, why in ((part("c", "prism", [0.1, 0.1]), "already in another file"),
                     (part("d", "prism_delta", [0.1, 0.1], epochs_override=5), "differs")):  # fmt: skip
        run = subprocess.run([sys.executable, script, "--merge", a, bad, "--json", str(tmp_path / "x.json")],
                             capture_output=True, text=True)  # fmt: skip
        assert run.returncode == 2 and why in run.stderr
