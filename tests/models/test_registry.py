"""The registry: config dataclasses, checked overrides, variants, errors."""

from dataclasses import dataclass

import pytest

from biodyn.errors import ConfigError
from biodyn.models import create_model, list_models, model_config, register_model
from biodyn.models.baselines import CNN1d, CNN1dConfig

SIG = {"n_chans": 2, "n_outputs": 3, "n_times": 64, "sfreq": 32.0}


def test_unknown_key_names_it_and_the_allowed_keys():
    with pytest.raises(ConfigError) as e:
        create_model("cnn1d", nope=1)
    msg = str(e.value)
    assert "'nope'" in msg
    for key in ("n_chans", "n_outputs", "n_times", "sfreq", "width", "depth", "kernel_size", "dropout"):
        assert key in msg


def test_wrong_type_names_key_value_and_type():
    with pytest.raises(ConfigError, match=r"width='8'.*expected int"):
        create_model("cnn1d", **SIG, width="8")
    with pytest.raises(ConfigError, match="depth=True"):
        create_model("cnn1d", **SIG, depth=True)
    with pytest.raises(ConfigError, match="n_chans"):
        create_model("cnn1d", **{**SIG, "n_chans": 2.5})
    m = create_model("cnn1d", **SIG, dropout=0)  # an int where a float is expected is widened
    assert isinstance(m.cfg.dropout, float)
    import numpy as np

    m = create_model("cnn1d", **{**SIG, "n_chans": np.int64(2)}, width=np.int32(4))  # NumPy integers are ints
    assert type(m.n_chans) is int and type(m.cfg.width) is int


def test_unknown_model_and_missing_signal_args():
    with pytest.raises(ConfigError, match=r"unknown model 'cnn1dd'.*did you mean 'cnn1d'"):
        create_model("cnn1dd", **SIG)
    with pytest.raises(ConfigError, match="missing n_chans"):
        create_model("cnn1d", n_outputs=2, sfreq=10.0)


def test_model_config_returns_fresh_defaults():
    cfg = model_config("cnn1d")
    assert cfg == CNN1dConfig()
    cfg.width = 1
    assert model_config("cnn1d").width == CNN1dConfig().width


def test_a_variant_is_a_few_lines(scratch_registry):
    @dataclass
    class WideConfig(CNN1dConfig):
        width: int = 48

    register_model("cnn1d_wide_test", config=WideConfig)(CNN1d)
    assert "cnn1d_wide_test" in list_models()
    m = create_model("cnn1d_wide_test", **SIG)
    assert m.cfg.width == 48 and m.head.in_features == 48 and m.model_name == "cnn1d_wide_test"


def test_type_error_inside_a_constructor_is_not_a_config_error(scratch_registry):
    @register_model("broken_test", config=CNN1dConfig)
    class Broken(CNN1d):
        def __init__(self, *a, **k):
            raise TypeError("a bug in the model")

    with pytest.raises(TypeError, match="a bug in the model") as e:
        create_model("broken_test", **SIG)
    assert not isinstance(e.value, ConfigError)


@dataclass
class _OtherConfig(CNN1dConfig):
    width: int = 2


def test_registration_errors(scratch_registry):
    with pytest.raises(ConfigError, match="already registered"):
        register_model("cnn1d", config=_OtherConfig)(CNN1d)
    with pytest.raises(TypeError, match="dataclass"):
        register_model("x_test", config=dict)
    with pytest.raises(ConfigError, match="unknown key 'widht'"):
        register_model("y_test", config=CNN1dConfig, test_config={"widht": 1})(CNN1d)


def test_model_yaml_mirrors_the_config_dataclass():
    import json
    from dataclasses import asdict
    from pathlib import Path

    import yaml

    import biodyn

    folder = Path(biodyn.__file__).parent / "configs" / "model"
    files = sorted(folder.glob("*.yaml"))
    assert files
    for f in files:
        d = yaml.safe_load(f.read_text())
        # YAML has lists where configs have tuples
        want = json.loads(json.dumps(asdict(model_config(d["name"]))))
        assert d["params"] == want, f"{f.name} differs from {d['name']}'s defaults"


def test_every_registered_model_has_a_model_yaml():
    """``biodyn train model=NAME`` composes configs/model/NAME.yaml: a registered model without one could be
    created in Python but not trained from the command line (the baselines and PRISM's ablations had none)."""
    from pathlib import Path

    import biodyn

    folder = Path(biodyn.__file__).parent / "configs" / "model"
    assert sorted(p.stem for p in folder.glob("*.yaml")) == sorted(list_models())
