"""`--print-config` on the systems' entry points: the resolved settings as YAML, nothing run."""

import yaml

from biodyn.cli import main


def test_prism_prints_its_resolved_run_config(tmp_path, capsys):
    cfg = tmp_path / "r.yaml"
    cfg.write_text("epochs: 7\nn_mels: 8\n")
    out = tmp_path / "never"
    assert (
        main(["prism", "--config", str(cfg), "--epochs", "3", "--output-dir", str(out), "--print-config"])
        == 0
    )
    got = yaml.safe_load(capsys.readouterr().out)
    # flags > YAML > defaults
    assert got["epochs"] == 3 and got["n_mels"] == 8 and got["output_dir"] == str(out)
    assert not out.exists()


def test_fewshot_prints_its_grid(capsys):
    assert main(["fewshot", "--models", "biot", "--budgets", "0.5", "--print-config"]) == 0
    got = yaml.safe_load(capsys.readouterr().out)
    assert got["models"] == ["biot"] and got["budgets"] == [0.5]


def test_focal_prints_its_settings_with_an_explicit_flag_over_the_preset(capsys):
    assert main(["focal", "--quick", "--span-s", "10", "--print-config"]) == 0
    got = yaml.safe_load(capsys.readouterr().out)
    # --quick gives 4 s, 64 Hz
    assert got["span_s"] == 10.0 and got["resample_hz"] == 64.0
