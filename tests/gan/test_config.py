import math

import pytest

from gan.config import ConfigError, ModelConfig, TrainConfig


@pytest.mark.parametrize("field,value,words", [
    ("lr", -1e-3, "lr must be > 0"),
    ("lr", math.nan, "lr must be a finite number"),
    ("lr", "fast", "lr must be a number"),
    ("batch_size", 0, "batch_size must be >= 1"),
    ("batch_size", 2.5, "batch_size must be a whole number"),
    ("dataset", "cifar99", "unknown dataset 'cifar99'"),
    ("model", "transformer", "unknown model 'transformer'"),
    ("loss", "magic", "unknown loss 'magic'"),
    ("beta1", 1.5, "beta1 must be <="),
    ("device", "tpu", "unknown device 'tpu'"),
    ("r1", -1.0, "r1 must be >= 0"),
    ("lr_d_mult", 0.0, "lr_d_mult must be > 0"),
])
def test_train_config_rejects_bad_values_naming_the_field(field, value, words):
    cfg = TrainConfig(**{field: value})
    with pytest.raises(ConfigError) as e:
        cfg.validate()
    assert words in str(e.value)


def test_defaults_validate_and_resolve():
    cfg = TrainConfig(dataset="ring8").resolved({"model": "toy", "batch_size": 8, "lr": 1e-3})
    assert (cfg.model, cfg.batch_size, cfg.lr) == ("toy", 8, 1e-3)
    assert TrainConfig(dataset="folder:/somewhere").validate() is None


def test_model_config_checks_shape_against_model():
    with pytest.raises(ConfigError, match="does not handle image data"):
        ModelConfig(model="toy", data_shape=(1, 28, 28))
    with pytest.raises(ConfigError, match="square images"):
        ModelConfig(model="dcgan", data_shape=(1, 28, 20))
    with pytest.raises(ConfigError, match="z_dim must be >= 1"):
        ModelConfig(model="mlp", data_shape=(2,), z_dim=0)
