"""Checkpoints of a two-layer model and its Adam optimiser, checked against the objects they were made from:
every weight, every optimiser tensor and plain value, the parameter groups (tuples included) and the three
random generators come back exactly; what is not asked for is left alone; and the folder swap leaves nothing
behind. Fast (no Trainer), so the mutation run of train/checkpoint.py reaches every line with them."""

import json
import random

import numpy as np
import pytest
import torch

from biodyn.errors import CheckpointError
from biodyn.models._pretrained import previous_checkpoint, read_state
from biodyn.train.checkpoint import _opt_join, _opt_split, check_resumable, load_checkpoint, save_checkpoint


def _model(seed=0, width=3):
    torch.manual_seed(seed)
    return torch.nn.Sequential(torch.nn.Linear(4, width), torch.nn.Linear(width, 2))


def _trained(seed=0):
    """A model and an Adam optimiser after two steps (so the optimiser holds exp_avg, exp_avg_sq, step)."""
    model = _model(seed)
    opt = torch.optim.Adam(
        [{"params": model[0].parameters(), "lr": 0.01}, {"params": model[1].parameters(), "lr": 0.002}],
        betas=(0.8, 0.95),
    )
    for _ in range(2):
        opt.zero_grad()
        model(torch.randn(5, 4)).square().mean().backward()
        opt.step()
    return model, opt


def _same_state(a, b):
    for k in a:
        assert torch.equal(a[k], b[k]), k


def test_round_trip_restores_weights_optimiser_and_every_rng(tmp_path):
    model, opt = _trained()
    random.seed(1)
    np.random.seed(2)  # noqa: NPY002 (the legacy global is what checkpoints restore)
    np.random.standard_normal()  # noqa: NPY002 (draws a pair: the second normal is kept for the next call)
    assert np.random.get_state()[3] == 1  # noqa: NPY002
    torch.manual_seed(3)
    folder = save_checkpoint(
        tmp_path / "last", model=model, optimizer=opt, state={"step": 7, "model_name": "m"}
    )
    assert folder == tmp_path / "last"
    # the kept normal too: the next normal after a restore is the one after the save
    want = (random.random(), np.random.standard_normal(), np.random.random(), torch.rand(1).item())  # noqa: NPY002
    random.seed(9)
    np.random.seed(9)  # noqa: NPY002
    torch.manual_seed(9)
    model2 = _model(seed=5)
    opt2 = torch.optim.Adam(
        [{"params": model2[0].parameters(), "lr": 1.0}, {"params": model2[1].parameters(), "lr": 1.0}]
    )
    st = load_checkpoint(folder, model=model2, optimizer=opt2, model_name="m")
    assert st["step"] == 7 and st["model_name"] == "m" and st["format_version"] == 1
    got = (random.random(), np.random.standard_normal(), np.random.random(), torch.rand(1).item())  # noqa: NPY002
    assert got == want
    _same_state(model.state_dict(), model2.state_dict())
    a, b = opt.state_dict(), opt2.state_dict()
    assert a["param_groups"] == b["param_groups"]  # lrs per group, betas as a tuple
    assert b["param_groups"][0]["betas"] == (0.8, 0.95) and isinstance(b["param_groups"][0]["betas"], tuple)
    assert sorted(a["state"]) == sorted(b["state"]) == [0, 1, 2, 3]
    for pid in a["state"]:
        assert sorted(a["state"][pid]) == sorted(b["state"][pid])
        for k, v in a["state"][pid].items():
            assert torch.equal(v, b["state"][pid][k]) if torch.is_tensor(v) else v == b["state"][pid][k]
    # and the next step is the same step
    x = torch.randn(5, 4)
    for m, o in ((model, opt), (model2, opt2)):
        o.zero_grad()
        m(x).square().mean().backward()
        o.step()
    _same_state(model.state_dict(), model2.state_dict())


def test_what_is_not_asked_for_is_left_alone(tmp_path):
    model, opt = _trained()
    folder = save_checkpoint(tmp_path / "c", model=model, optimizer=opt, state={"step": 1})
    model2 = _model(seed=5)
    random.seed(4)
    np.random.seed(4)  # noqa: NPY002
    torch.manual_seed(4)
    want = (random.random(), np.random.random(), torch.rand(1).item())  # noqa: NPY002
    random.seed(4)
    np.random.seed(4)  # noqa: NPY002
    torch.manual_seed(4)
    # no optimiser, no RNG: the weights only (the trainer file is not even opened)
    (folder / "trainer.safetensors").write_bytes(b"garbage")
    st = load_checkpoint(folder, model=model2, restore_rng=False)
    assert st["step"] == 1
    _same_state(model.state_dict(), model2.state_dict())
    assert (random.random(), np.random.random(), torch.rand(1).item()) == want  # noqa: NPY002
    with pytest.raises(CheckpointError, match=r"trainer\.safetensors: not a safetensors file"):
        load_checkpoint(folder, model=model2)


def test_optimiser_state_splits_into_tensors_and_json_and_joins_back():
    sd = {
        "state": {
            0: {"step": 3, "exp_avg": torch.ones(2), "note": "x"},
            5: {"momentum_buffer": torch.zeros(1)},
        },
        "param_groups": [{"lr": 0.1, "betas": (0.9, 0.99), "params": [0]}, {"lr": 0.2, "params": [5]}],
    }
    tens, js = _opt_split(sd)
    assert sorted(tens) == ["opt.0.exp_avg", "opt.5.momentum_buffer"]
    assert js["plain_state"] == {"0": {"step": 3, "note": "x"}, "5": {}}
    assert js["param_groups"][0]["betas"] == [0.9, 0.99]  # JSON has no tuples
    back = _opt_join({**tens, "rng.torch": torch.zeros(3, dtype=torch.uint8)}, json.loads(json.dumps(js)))
    assert (
        sorted(back["state"]) == [0, 5] and back["state"][0]["step"] == 3 and back["state"][0]["note"] == "x"
    )
    assert torch.equal(back["state"][0]["exp_avg"], torch.ones(2))
    assert torch.equal(back["state"][5]["momentum_buffer"], torch.zeros(1))
    assert back["param_groups"][0]["betas"] == (0.9, 0.99) and "betas" not in back["param_groups"][1]
    assert back["param_groups"][1] == {"lr": 0.2, "params": [5]}
    # a key with dots after the parameter index keeps them
    assert _opt_join({"opt.2.a.b": torch.ones(1)}, {"plain_state": {}, "param_groups": []})["state"][2]["a.b"]


def test_state_json_holds_the_state_and_the_rng(tmp_path):
    model, opt = _trained()
    random.seed(11)
    np.random.seed(12)  # noqa: NPY002
    folder = save_checkpoint(tmp_path / "c", model=model, optimizer=opt, state={"step": 2, "best": 0.5})
    st = json.loads((folder / "state.json").read_text())
    assert st["format_version"] == 1 and (st["step"], st["best"]) == (2, 0.5)
    py = random.getstate()
    assert st["rng"]["python"] == [py[0], list(py[1]), py[2]]
    np_state = np.random.get_state()  # noqa: NPY002
    assert st["rng"]["numpy"][0] == np_state[0] == "MT19937"
    assert st["rng"]["numpy"][1] == np_state[1].tolist() and st["rng"]["numpy"][2:] == [
        int(np_state[2]),
        int(np_state[3]),
        float(np_state[4]),
    ]
    assert st["optimizer"]["param_groups"][1]["lr"] == 0.002
    assert read_state(folder) == st


def test_saving_again_swaps_the_folder_and_leaves_nothing_behind(tmp_path):
    model, opt = _trained()
    save_checkpoint(tmp_path / "last", model=model, optimizer=opt, state={"step": 1})
    save_checkpoint(tmp_path / "last", model=model, optimizer=opt, state={"step": 2})
    assert read_state(tmp_path / "last")["step"] == 2
    assert [p.name for p in tmp_path.iterdir()] == ["last"]  # no .last.old, no temporary folder
    assert sorted(p.name for p in (tmp_path / "last").iterdir()) == [
        "model.safetensors",
        "state.json",
        "trainer.safetensors",
    ]
    # a stale .old from a crash is replaced, not an obstacle
    old = previous_checkpoint(tmp_path / "last")
    old.mkdir()
    (old / "junk").write_text("x")
    save_checkpoint(tmp_path / "last", model=model, optimizer=opt, state={"step": 3})
    assert read_state(tmp_path / "last")["step"] == 3 and not old.exists()
    # a failure while writing leaves the previous checkpoint as it was, and no temporary folder
    with pytest.raises(TypeError):
        save_checkpoint(tmp_path / "last", model=model, optimizer=opt, state={"step": object()})
    assert read_state(tmp_path / "last")["step"] == 3 and [p.name for p in tmp_path.iterdir()] == ["last"]


def test_loading_into_another_model_names_the_checkpoint_folder(tmp_path):
    model, opt = _trained()
    folder = save_checkpoint(tmp_path / "c", model=model, optimizer=opt, state={"step": 1})
    with pytest.raises(CheckpointError, match=rf"^{folder}: weights do not fit this model .*shape mismatch"):
        load_checkpoint(folder, model=_model(width=5))


def test_check_resumable_returns_the_state_or_says_what_does_not_fit(tmp_path):
    model, opt = _trained()
    folder = save_checkpoint(tmp_path / "c", model=model, optimizer=opt, state={"step": 4, "model_name": "m"})
    st = check_resumable(folder, model=_model(seed=3), model_name="m")
    assert st == read_state(folder) and st["step"] == 4
    with pytest.raises(CheckpointError, match=r"checkpoint is of model 'm', not 'other'"):
        check_resumable(folder, model=_model(), model_name="other")
    with pytest.raises(CheckpointError, match=r"weights do not fit this model .*shape mismatch \['0\.weight"):
        check_resumable(folder, model=_model(width=5), model_name="m")
    with pytest.raises(CheckpointError, match=r"missing \['2\.bias', '2\.weight'\], unexpected \[\]"):
        check_resumable(folder, model=torch.nn.Sequential(*_model(), torch.nn.Linear(2, 2)), model_name="m")
    (folder / "trainer.safetensors").write_bytes(b"garbage")
    with pytest.raises(CheckpointError, match=r"trainer\.safetensors: not a safetensors file"):
        check_resumable(folder, model=_model(), model_name="m")


def test_the_folder_is_written_beside_its_place_under_a_temporary_name(tmp_path, monkeypatch):
    """Into folders that do not exist yet; through a temporary sibling named by ``temp_prefix`` (which tells
    a cleanup whose it is), renamed into place."""
    import os

    from biodyn.atomic import temp_prefix
    from biodyn.train import checkpoint

    model, opt = _trained()
    moves = []
    real_replace = os.replace
    monkeypatch.setattr(checkpoint.os, "replace", lambda a, b: (moves.append((a, b)), real_replace(a, b)))
    target = tmp_path / "run" / "checkpoints" / "last"
    save_checkpoint(target, model=model, optimizer=opt, state={"step": 1})
    ((src, dst),) = moves
    assert dst == target and src.parent == target.parent and src.name.startswith(temp_prefix("last"))
    assert read_state(target)["step"] == 1


def test_an_interruption_after_the_swap_propagates_as_itself(tmp_path, monkeypatch):
    import shutil

    from biodyn.train import checkpoint

    model, opt = _trained()
    save_checkpoint(tmp_path / "last", model=model, optimizer=opt, state={"step": 1})
    old = previous_checkpoint(tmp_path / "last")
    real_rmtree = shutil.rmtree

    def rmtree(path, ignore_errors=False):
        if path == old:  # removing the previous checkpoint, after the new one is in place
            raise KeyboardInterrupt
        return real_rmtree(path, ignore_errors=ignore_errors)

    monkeypatch.setattr(checkpoint.shutil, "rmtree", rmtree)
    with pytest.raises(KeyboardInterrupt):
        save_checkpoint(tmp_path / "last", model=model, optimizer=opt, state={"step": 2})
    assert read_state(tmp_path / "last")["step"] == 2


def test_a_checkpoint_without_optimiser_loads_as_a_model_but_cannot_resume(tmp_path):
    """``optimizer=None`` (a model never trained further): the trainer file holds the torch RNG only, the
    state's optimiser is null; the weights and generators load back, and an optimiser asked for is refused."""
    from safetensors.torch import load_file

    model = _model(seed=1)
    torch.manual_seed(4)
    folder = save_checkpoint(tmp_path / "w", model=model, optimizer=None, state={"step": 0})
    want = torch.rand(1).item()
    assert set(load_file(str(folder / "trainer.safetensors"))) == {"rng.torch"}
    assert json.loads((folder / "state.json").read_text())["optimizer"] is None
    model2 = _model(seed=6)
    assert load_checkpoint(folder, model=model2)["step"] == 0
    _same_state(model.state_dict(), model2.state_dict())
    assert torch.rand(1).item() == want
    opt = torch.optim.Adam(model2.parameters())
    with pytest.raises(CheckpointError, match="holds no optimiser state"):
        load_checkpoint(folder, model=model2, optimizer=opt)
