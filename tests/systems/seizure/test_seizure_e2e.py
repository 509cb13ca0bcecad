"""End to end on the bundled CHB-MIT material: train (CLI) -> eval (event scoring) -> detect on the EDF crop."""

import json

import pytest

from biodyn.data_root import data_root

ROOT = data_root()
pytestmark = pytest.mark.skipif(
    ROOT is None or not (ROOT / "chbmit" / "npy_excerpts").is_dir(),
    reason="no CHB-MIT excerpts in the data root",
)


@pytest.mark.slow
@pytest.mark.timeout(1800)
def test_train_eval_detect(tmp_path):
    from biodyn.cli import main

    run = tmp_path / "run"
    rc = main(
        [
            "train",
            "experiment=seizure_tiny",
            "model=seizure_gdn",
            f"train.out_dir={run}",
            "train.max_steps=2",
            "train.eval_every=2",
            "train.ckpt_every=2",
            "train.batch_size=2",
        ]
    )
    assert rc == 0
    res = json.loads((run / "results.json").read_text())
    assert res["model"] == "seizure_gdn" and "test_window_auroc" in res["metrics"]
    st = json.loads((run / "checkpoints" / "best" / "state.json").read_text())
    assert st["extra"]["data"]["channels"][0] == "Fp1-F7" and st["extra"]["data"]["window_s"] == 10.0
    # what applying the detector needs is in the checkpoint's input spec (montage, rate, window,
    # preprocessing, operating threshold), and an export of the run detects as the run does
    spec = st["input_spec"]
    assert spec["channels"][0] == "Fp1-F7" and spec["window_s"] == 10.0 and spec["sfreq"] == 256.0
    assert spec["threshold"] == 0.86 and spec["preprocessing"]
    # regression: the split name chose the scorer (test -> generic window metrics, eval -> event scoring); the
    # run's task chooses it now, and test and eval name the same split
    assert main(["eval", str(run), "--split", "test"]) == 0
    rep = json.loads((run / "eval_results.json").read_text())
    assert [r["target_fa_per_24h"] for r in rep["operating_points"]] == [10.0, 5.0, 2.5, 1.0]
    assert rep["n_records"] == {"dev": 6, "eval": 8} and (run / "eval_results.png").exists()
    assert rep["split"] == "test" and not (run / "eval_test.json").exists()
    (run / "eval_results.json").unlink()
    assert main(["eval", str(run), "--split", "eval"]) == 0
    again = json.loads((run / "eval_results.json").read_text())
    assert again["split"] == "test" and again["sample_metrics"] == rep["sample_metrics"]
    crop = ROOT / "chbmit" / "edf_crops" / "chb01_03_Seizure.edf"
    out = tmp_path / "det"
    assert (
        main(
            [
                "detect",
                str(crop),
                "--checkpoint",
                str(run),
                "--out",
                str(out),
                "--json",
                str(out / "s.json"),
                "--no-progress",
            ]
        )
        == 0
    )
    s = json.loads((out / "s.json").read_text())
    assert s["recordings"][0]["duration_s"] == pytest.approx(41.0)
    assert {p.name for p in out.iterdir()} >= {
        "chb01_03_Seizure.csv_bi",
        "chb01_03_Seizure_events.tsv",
        "chb01_03_Seizure_probs.npy",
        "chb01_03_Seizure.png",
    }
