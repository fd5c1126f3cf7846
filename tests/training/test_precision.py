"""`precision_policy`: the train commands' mixed-precision switch."""

import keras
import pytest

from mit_dl.training.precision import PRECISIONS, precision_policy, with_loss_scaling


@pytest.mark.parametrize("name", PRECISIONS)
def test_models_built_inside_compute_in_the_policy_and_the_old_policy_returns(name):
    with precision_policy(name):
        layer = keras.layers.Dense(2)
        layer.build((None, 3))
    assert layer.compute_dtype == name.removeprefix("mixed_") and layer.variable_dtype == "float32"
    assert keras.config.dtype_policy().name == "float32"


def test_the_old_policy_returns_after_an_error():
    with pytest.raises(RuntimeError):
        with precision_policy("mixed_bfloat16"):
            raise RuntimeError("training failed")
    assert keras.config.dtype_policy().name == "float32"


def test_an_unknown_precision_is_a_clear_error():
    with pytest.raises(ValueError, match="precision must be one of float32, mixed_float16, mixed_bfloat16"):
        with precision_policy("float16"):
            pass


def test_the_cli_offers_exactly_these_precisions():
    from mit_dl import cli

    parser = cli.build_parser()
    train = parser._subparsers._group_actions[0].choices["music"]._subparsers._group_actions[0].choices["train"]
    precision = next(a for a in train._actions if a.dest == "precision")
    assert tuple(precision.choices) == PRECISIONS


@pytest.mark.parametrize("name", PRECISIONS)
def test_only_float16_wraps_the_optimizer_in_loss_scaling_and_only_once(name):
    adam = keras.optimizers.Adam()
    with precision_policy(name):
        chosen = with_loss_scaling(adam)
        assert with_loss_scaling(chosen) is chosen
    if name == "mixed_float16":
        assert isinstance(chosen, keras.optimizers.LossScaleOptimizer) and chosen.inner_optimizer is adam
    else:
        assert chosen is adam
