"""L2 penalty against decoupled decay (equal for SGD, not for Adam), and dropout's two forms."""

import numpy as np
import pytest

from mit_dl.errors import ConfigError
from mit_dl.foundations import regularisation as reg


def test_an_l2_penalty_is_weight_decay_for_sgd_but_not_for_adam():
    assert reg.penalty_versus_decay("sgd") < 1e-8  # the same update: only float64 rounding apart
    assert reg.penalty_versus_decay("adam") > 1e-2  # AdamW's decay escapes Adam's adaptive scaling


def test_both_dropout_forms_keep_the_expected_activation_and_differ_at_test_time():
    rng = np.random.default_rng(0)
    values = np.ones((200_000,))
    inverted = reg.dropout(values, 0.3, True, rng)
    original = reg.dropout(values, 0.3, True, rng, inverted=False)
    assert inverted.mean() == pytest.approx(1.0, abs=0.01) and set(np.unique(inverted)) == {0.0, 1 / 0.7}
    assert original.mean() == pytest.approx(0.7, abs=0.01)
    assert reg.dropout(values, 0.3, False, rng).mean() == 1.0  # inverted: nothing to do at test time
    assert reg.dropout(values, 0.3, False, rng, inverted=False).mean() == pytest.approx(0.7)  # rescaled instead
    with pytest.raises(ConfigError, match=r"rate must be in \[0, 1\), received 1.0"):
        reg.dropout(values, 1.0, True, rng)
