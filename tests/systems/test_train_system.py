"""``biodyn train system=...``: one command and one config tree for every system.

The specifications' entry points (``biodyn prism --flags``, ``biodyn cldtrans`` / ``python -m biodyn.cldtrans``)
and CLD-Trans' experiments (``biodyn focal``, ``biodyn fewshot``) compose the same config as ``biodyn train
system=X``; a tiny run of each system goes through ``biodyn train``;
the errors are one ``biodyn: error:`` line with exit 2."""

import json
import shutil

import pytest
import yaml

from biodyn.cli import main
from biodyn.configs import PACKAGED
from biodyn.testing import shared_data


def _out(capsys, argv) -> str:
    assert main(argv) == 0
    return capsys.readouterr().out


def _one_error_line(capsys, argv, code: int = 2) -> str:
    assert main(argv) == code
    err = capsys.readouterr().err
    lines = err.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("biodyn: error: ") and "Traceback" not in err, err
    return lines[0]


# ------------------------------------------------------------------------------ the aliases' configs
def test_prism_flags_and_train_overrides_resolve_to_the_identical_config(tmp_path, capsys):
    out = tmp_path / "run dir's"  # a space and a quote: the flag's value reaches the config verbatim
    alias = _out(
        capsys,
        [
            "prism",
            "--config",
            "prism_cifar10",
            "--modality",
            "audio",
            "--epochs",
            "3",
            "--lr",
            "1e-3",
            "--wandb-project",
            "null",  # a string, not YAML's null
            "--no-progress",
            "--force",
            "--output-dir",
            str(out),
            "--print-config",
        ],
    )
    train = _out(
        capsys,
        [
            "train",
            "system=prism",
            "recipe=prism_cifar10",
            "modality=audio",
            "epochs=3",
            "lr=1e-3",
            "wandb_project='null'",
            "progress=false",
            f"output_dir='{str(out).replace(chr(39), chr(92) + chr(39))}'",
            "--force",
            "--print-config",
        ],
    )
    assert alias == train
    got = yaml.safe_load(alias)
    # recipe < flags; the recipe's own keys kept (augment, patch_size), the defaults below them
    assert got["epochs"] == 3 and got["modality"] == "audio" and got["augment"] is True
    assert got["lr"] == 1e-3 and got["output_dir"] == str(out) and got["wandb_project"] == "null"
    assert got["force"] is True and got["progress"] is False and got["n_mels"] == 40
    assert not out.exists()


def test_prism_recipe_file_is_the_same_config_through_either_command(tmp_path, capsys):
    recipe = tmp_path / "mine.yaml"
    recipe.write_text(
        "batch-size: 8\nlr: 3e-4\nepochs: '5'\n"
    )  # dashes, YAML 1.1's string 3e-4, a quoted int
    alias = _out(capsys, ["prism", "--config", str(recipe), "--epochs", "2", "--print-config"])
    train = _out(capsys, ["train", "system=prism", f"recipe={recipe}", "epochs=2", "--print-config"])
    assert alias == train
    got = yaml.safe_load(alias)
    assert got["batch_size"] == 8 and got["lr"] == 3e-4 and got["epochs"] == 2


def test_cldtrans_aliases_resolve_to_the_identical_config(capsys):
    from biodyn.cldtrans import main as python_m  # what `python -m biodyn.cldtrans` runs

    args = ["mode=stage2", "ablation=no_vq", "train.max_steps=1", "--print-config"]
    train = _out(capsys, ["train", "system=cldtrans", *args])
    assert _out(capsys, ["cldtrans", *args]) == train
    assert python_m(args) == 0 and capsys.readouterr().out == train
    got = yaml.safe_load(train)
    assert got["system"] == "cldtrans" and got["mode"] == "stage2" and got["ablation"] == "no_vq"
    assert got["train"]["max_steps"] == 1 and got["model"]["use_vq"] is False


def test_focal_flags_and_train_overrides_resolve_to_the_identical_config(tmp_path, capsys):
    out = tmp_path / "res's"
    alias = _out(
        capsys,
        [
            "focal",
            "--quick",
            "--span-s",
            "6",
            "--methods",
            "varlingam, ldsem",
            "--channels",
            "T7-P7,P7-O1",
            "--seeds",
            "42,7",
            "--weights",
            "ldsem=" + str(tmp_path),
            "--excerpts",
            "--no-detectors",
            "--out",
            str(out),
            "--force",
            "--print-config",
        ],
    )
    quoted = str(out).replace("'", "\\'")
    train = _out(
        capsys,
        [
            "train",
            "system=focal",
            "preset=quick",
            "span_s=6",
            "methods=[varlingam,ldsem]",
            "channels=[T7-P7,P7-O1]",
            "seeds=[42,7]",
            f"++weights.ldsem={tmp_path}",
            "excerpts=true",
            "keep_detectors=false",
            f"out='{quoted}'",
            "--force",
            "--print-config",
        ],
    )
    assert alias == train
    got = yaml.safe_load(alias)
    # the flags over the preset (span_s, channels), the preset over the defaults (resample_hz, ldsem_steps)
    assert got["span_s"] == 6.0 and got["resample_hz"] == 64.0 and got["ldsem_steps"] == 60
    assert got["channels"] == ["T7-P7", "P7-O1"] and got["per_patient"] == 2 and got["seeds"] == [42, 7]
    assert got["methods"] == ["varlingam", "ldsem"] and got["weights"] == {"ldsem": str(tmp_path)}
    assert got["out"] == str(out) and got["force"] is True and got["keep_detectors"] is False
    assert not out.exists()
    # no flag: the schema's defaults (FocalConfig's), no preset
    plain = yaml.safe_load(_out(capsys, ["focal", "--print-config"]))
    assert plain == yaml.safe_load(_out(capsys, ["train", "system=focal", "--print-config"]))
    assert plain["span_s"] == 10.0 and plain["resample_hz"] == 128.0 and plain["channels"] is None


def test_fewshot_flags_and_train_overrides_resolve_to_the_identical_config(tmp_path, capsys):
    alias = _out(
        capsys,
        [
            "fewshot",
            "--preset",
            "full",
            "--datasets",
            "chbmit,ptbxl",
            "--models",
            "biot",
            "--budgets",
            "0.5,1",
            "--seeds",
            "1",
            "--modes",
            "finetune",
            "--budget-unit",
            "ptbxl=window",
            "--root",
            f"chbmit={tmp_path}",
            "--out",
            str(tmp_path / "r"),
            "--cache-dir",
            str(tmp_path / "c"),
            "--experiment",
            "fs",
            "--print-config",
        ],
    )
    train = _out(
        capsys,
        [
            "train",
            "system=fewshot",
            "preset=full",
            "datasets=[chbmit,ptbxl]",
            "models=[biot]",
            "budgets=[0.5,1.0]",
            "seeds=[1]",
            "modes=[finetune]",
            "++budget_unit.ptbxl=window",
            f"++roots.chbmit={tmp_path}",
            f"out={tmp_path / 'r'}",
            f"cache_dir={tmp_path / 'c'}",
            "experiment=fs",
            "--print-config",
        ],
    )
    assert alias == train
    got = yaml.safe_load(alias)
    # --budget-unit adds to the preset's units; the full preset's training settings
    assert got["budget_unit"] == {"chbmit": "window", "sleepedf": "window", "ptbxl": "window"}
    assert got["train"]["max_steps"] == 5000 and got["sources"] == {"chbmit": "corpus"}
    assert got["budgets"] == [0.5, 1.0] and got["roots"] == {"chbmit": str(tmp_path)}
    # no flag: the cpu preset, as before
    plain = _out(capsys, ["fewshot", "--print-config"])
    assert plain == _out(capsys, ["train", "system=fewshot", "--print-config"])
    assert yaml.safe_load(plain)["train"]["max_steps"] == 20


def test_default_system_is_the_generic_tree(capsys):
    plain = _out(capsys, ["train", "experiment=smoke", "--print-config"])
    assert _out(capsys, ["train", "system=seizure", "experiment=smoke", "--print-config"]) == plain
    assert yaml.safe_load(plain)["name"] == "smoke"


def test_config_dir_replaces_the_tree_for_every_system(tmp_path, capsys):
    tree = tmp_path / "configs"
    shutil.copytree(PACKAGED, tree, ignore=shutil.ignore_patterns("*.py", "__pycache__"))
    (tree / "prism" / "recipe" / "mine.yaml").write_text("# @package _global_\nhidden_dim: 24\n")
    (tree / "cldtrans" / "profile" / "cpu.yaml").write_text(
        (tree / "cldtrans" / "profile" / "cpu.yaml").read_text() + "effective_batch: 48\n"
    )
    (tree / "experiment" / "mine.yaml").write_text("# @package _global_\nname: mine\n")
    (tree / "focal" / "preset" / "mine.yaml").write_text("# @package _global_\nspan_s: 3.0\n")
    (tree / "fewshot" / "preset" / "cpu.yaml").write_text("# @package _global_\ntrain: {max_steps: 7}\n")
    d = ["--config-dir", str(tree), "--print-config"]
    assert yaml.safe_load(_out(capsys, ["train", "system=prism", "recipe=mine", *d]))["hidden_dim"] == 24
    assert yaml.safe_load(_out(capsys, ["prism", "--config", "mine", *d]))["hidden_dim"] == 24
    assert yaml.safe_load(_out(capsys, ["train", "system=cldtrans", *d]))["effective_batch"] == 48
    assert yaml.safe_load(_out(capsys, ["cldtrans", *d]))["effective_batch"] == 48
    assert yaml.safe_load(_out(capsys, ["train", "experiment=mine", *d]))["name"] == "mine"
    assert yaml.safe_load(_out(capsys, ["train", "system=focal", "preset=mine", *d]))["span_s"] == 3.0
    assert yaml.safe_load(_out(capsys, ["fewshot", *d]))["train"] == {"max_steps": 7}
    # the packaged tree is untouched
    assert (
        yaml.safe_load(_out(capsys, ["train", "system=cldtrans", "--print-config"]))["effective_batch"] != 48
    )


# ---------------------------------------------------------------------------------------------- errors
@pytest.mark.parametrize(
    ("argv", "needle"),
    [
        (["train", "system=nosuch"], "invalid system='nosuch'"),
        (["train", "system=prism", "nosuch=1"], "unknown config keys ['nosuch']"),
        (["train", "system=prism", "+nosuch=1"], "unknown config keys ['nosuch']"),
        (["train", "system=prism", "epochs=abc"], "invalid epochs='abc'; expected an integer"),
        (["train", "system=prism", "recipe=nosuch"], "recipe nosuch: no such file, nor a packaged recipe"),
        (["train", "system=cldtrans", "nosuch=1"], "unknown CLD-Trans setting nosuch; allowed under the top"),
        (["cldtrans", "train.nosuch=1"], "unknown CLD-Trans setting train.nosuch; allowed under train.: "),
        (["cldtrans", "data.roots.x=1"], "add it with +data.roots.x=VALUE"),
        (["train", "system=cldtrans", "train.max_steps=abc"], "invalid train.max_steps='abc'"),
        (["train", "system=cldtrans", "+train.nosuch=1"], "train.nosuch"),
        (["train", "system=seizure", "train.nosuch=1"], "nosuch"),
        (["train", "system=prism", "stage1"], "key=value"),
        (["train", "system=prism", "--fewshot"], "--fewshot"),
        (["cldtrans", "system=prism"], "system=prism"),
        (["train", "system=focal", "nosuch=1"], "unknown focal-lead setting nosuch; allowed under the top"),
        (["train", "system=focal", "+nosuch=1"], "unknown focal-lead setting nosuch"),
        (["train", "system=focal", "span_s=abc"], "invalid span_s='abc'"),
        (["train", "system=focal", "span_s=0"], "invalid span_s=0.0; allowed: a number > 0"),
        (["train", "system=focal", "per_patient=0"], "invalid per_patient=0"),
        (["train", "system=focal", "methods=[ldsem,ldsem]"], "invalid methods="),
        (["train", "system=focal", "preset=cpu"], "invalid preset='cpu'; allowed: 'quick'"),
        (["focal", "--quick", "--resample-hz", "-64"], "invalid resample_hz=-64.0"),
        (
            ["focal", "--weights", "cldtrans=x", "--methods", "ldsem"],
            "weights cldtrans: not among the methods",
        ),
        (["train", "system=fewshot", "nosuch=1"], "unknown few-shot setting nosuch; allowed under the top"),
        (["train", "system=fewshot", "budgets=[0]"], "invalid budgets=0"),
        (["train", "system=fewshot", "datasets=[eegmmidb]"], "invalid datasets='eegmmidb'"),
        (["train", "system=fewshot", "++budget_unit.chbmit=record"], "invalid budget_unit='record'"),
        (["train", "system=fewshot", "++roots.nosuch=x"], "invalid roots dataset='nosuch'"),
        (["train", "system=fewshot", "preset=gpu"], "invalid preset='gpu'; allowed: 'cpu', 'full'"),
        (["fewshot", "--modes", "probe"], "invalid modes='probe'"),
        (["train", "system=fewshot", "train.max_steps=-1"], "invalid train.max_steps=-1"),
        (["train", "system=fewshot", "+train.out_dir=x"], "unknown train settings ['out_dir']"),
        (["fewshot", "--seeds", "-1"], "invalid seeds=-1"),
        (["train", "system=focal", "--seeds", "42"], "system=focal takes seeds=[...]"),
        (["train", "system=fewshot", "--budgets", "0.5"], "--seeds and --budgets belong to --fewshot"),
    ],
)
def test_errors_are_one_line_and_exit_2(argv, needle, capsys):
    assert needle in _one_error_line(capsys, argv)


# ------------------------------------------------------------------------- tiny runs through biodyn train
def test_prism_tiny_run_then_refused_without_force(tmp_path, capsys):
    out = tmp_path / "prism"
    argv = ["train", "system=prism", "preset=smoke", "modality=audio", f"output_dir={out}"]
    assert main(argv) == 0
    assert f"results: {out}/results.json" in capsys.readouterr().out
    saved = yaml.safe_load((out / "config.yaml").read_text())
    assert (
        saved["system"] == "prism"
        and saved["run"]["modality"] == "audio"
        and saved["run"]["data"] == "synthetic"
    )
    res = json.loads((out / "results.json").read_text())
    assert res["modality"] == "audio" and 0.0 <= res["test"]["accuracy"] <= 1.0
    assert (out / "checkpoints" / "best").is_dir()
    line = _one_error_line(capsys, argv)
    assert "already holds a run" in line and "--force" in line


@pytest.mark.timeout(600)
def test_cldtrans_tiny_stage_then_refused_without_force(tmp_path, capsys):
    shared_data("eegmmidb")
    from loguru import logger

    logger.disable("vector_quantize_pytorch")  # its deprecation warning's handler holds a closed stream
    argv = [
        "train",
        "system=cldtrans",
        "mode=stage1",
        "train.max_steps=1",
        f"train.out_dir={tmp_path}",
        "data.limit=1",
        "data.max_channels=4",
    ]
    try:
        assert main(argv) == 0
        row = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
        assert row["mode"] == "stage1" and row["step"] == 1 and "loss_recon" in row
        saved = yaml.safe_load((tmp_path / "stage1" / "config.yaml").read_text())
        assert saved["system"] == "cldtrans" and saved["train"]["max_steps"] == 1
        assert (tmp_path / "stage1" / "results.json").is_file()
        line = _one_error_line(capsys, argv)
        assert "already holds a run" in line and "train.resume=true" in line and "--force" in line
        assert main([*argv, "--force", "train.resume=true"]) == 2  # they exclude each other
        capsys.readouterr()
    finally:
        logger.enable("vector_quantize_pytorch")


@pytest.mark.timeout(600)
def test_seizure_tiny_run_through_system_seizure(tmp_path, capsys):
    shared_data("chbmit")
    out = tmp_path / "sz"
    argv = [
        "train",
        "system=seizure",
        "experiment=seizure_tiny",
        "train.max_steps=2",
        "train.eval_every=2",
        "train.ckpt_every=2",
        "train.batch_size=2",
        f"train.out_dir={out}",
    ]
    assert main(argv) == 0
    printed = json.loads(capsys.readouterr().out)
    assert printed["experiment"] == "seizure_tiny" and printed["train_summary"]["step"] == 2
    assert yaml.safe_load((out / "config.yaml").read_text())["name"] == "seizure_tiny"
    assert "already holds a run" in _one_error_line(capsys, argv)


def test_focal_tiny_run_through_system_focal(tmp_path, capsys):
    """CLD-Trans' focal-lead experiment through ``biodyn train``: one deterministic method on two bundled
    excerpts; the per-seed JSON and its run folder run_seed<k>/ as ``biodyn focal`` writes them; a rerun with
    other settings is refused (one line) and ``--force`` replaces it."""
    root = shared_data("chbmit")
    argv = [
        "train",
        "system=focal",
        "preset=quick",
        "excerpts=true",
        f"data={root}",
        "methods=[varlingam]",
        "seeds=[42]",
        "span_s=2",
        "channels=[T7-P7,P7-O1,T8-P8]",
        "per_patient=1",
        f"out={tmp_path}",
    ]
    assert main(argv) == 0
    printed = capsys.readouterr().out
    assert "| varlingam | 42 | " in printed and f"biodyn report {tmp_path}" in printed
    seed = tmp_path / "focal" / "varlingam" / "chbmit-focal" / "zeroshot" / "seed42.json"
    res = json.loads(seed.read_text())
    assert res["config"]["span_s"] == 2.0 and res["metrics"]["n_seizures"] == 2
    assert "data" not in res["config"]  # the result records FocalConfig's settings, not the run's inputs
    saved = yaml.safe_load((seed.parent / "run_seed42" / "config.yaml").read_text())
    assert saved["system"] == "cldtrans_focal"
    assert saved["inputs"]["window"] == {
        "span_s": 2.0,
        "resample_hz": 64.0,
        "channels": ["T7-P7", "P7-O1", "T8-P8"],
        "per_patient": 1,
    }
    other = [*argv[:-3], "span_s=3", *argv[-3:]]
    assert "finished with other settings (span_s differ)" in _one_error_line(capsys, other)
    assert main([*other, "--force"]) == 0
    assert json.loads(seed.read_text())["config"]["span_s"] == 3.0


def test_fewshot_tiny_cell_through_system_fewshot(tmp_path, capsys):
    """CLD-Trans' few-shot grid through ``biodyn train``: one cell (the cpu preset's CHB-MIT excerpts, one
    training step); the cell JSON and its run folder as ``biodyn fewshot`` writes them; a finished cell is
    skipped, one with other settings refused."""
    shared_data("chbmit")
    argv = [
        "train",
        "system=fewshot",
        "datasets=[chbmit]",
        "models=[eeg_gcnn]",
        "budgets=[1.0]",
        "seeds=[42]",
        "modes=[linear_probe]",
        "model_params.eeg_gcnn={gcn_hidden:[8],fc_hidden:[8]}",
        "train.max_steps=1",
        f"out={tmp_path}",
    ]
    assert main(argv) == 0
    assert f"1 cells under {tmp_path}/fewshot" in capsys.readouterr().out
    cell = tmp_path / "fewshot" / "eeg_gcnn" / "chbmit-linear_probe" / "100pct"
    res = json.loads((cell / "seed42.json").read_text())
    assert res["model"] == "eeg_gcnn" and res["budget_unit"] == "window" and "test_auroc" in res["metrics"]
    assert {"config.yaml", "results.json", "checkpoints"} <= {p.name for p in (cell / "run_seed42").iterdir()}
    assert main(argv) == 0  # finished with the same settings: skipped
    assert "1 cells" in capsys.readouterr().out
    line = _one_error_line(capsys, [*argv, "train.max_steps=2"])
    assert "finished with other settings (train differ)" in line


def test_force_clears_the_old_run_on_rank_0_only(tmp_path, monkeypatch):
    """Under torchrun every rank runs the command; two ranks removing the same files race, so only rank 0
    removes them (rundir.clear_run, which the generic, CLD-Trans and PRISM runs call)."""
    from biodyn.rundir import clear_run
    from biodyn.systems.prism import PrismRunConfig
    from biodyn.systems.prism.run import _start_run

    for clear in (clear_run, lambda p: _start_run(PrismRunConfig(force=True), p)):
        (tmp_path / "results.json").write_text("{}")
        monkeypatch.setenv("RANK", "1")
        clear(tmp_path)
        assert (tmp_path / "results.json").is_file()
        monkeypatch.setenv("RANK", "0")
        clear(tmp_path)
        assert not (tmp_path / "results.json").exists()
