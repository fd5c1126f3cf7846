"""The uncertainty config: a resume compares only the fields its method and task read."""

import pytest

from mit_dl.training.runs import compared_settings
from mit_dl.uncertainty.config import METHOD_FIELDS, TASK_FIELDS, UncertaintyConfig


@pytest.mark.parametrize(
    ("method", "task", "read"),
    [
        ("dropout", "regression", {"samples", "rate", "steps", "train_count"}),
        ("ensemble", "fashion_mnist", {"members", "epochs", "validation", "image_count"}),
        ("bayes", "regression", {"samples", "prior_std", "steps", "train_count"}),
        ("vae", "fashion_mnist", {"latent_dim", "epochs", "validation", "image_count"}),
        ("mve", "regression", {"steps", "train_count"}),
        ("deterministic", "fashion_mnist", {"epochs", "validation", "image_count"}),
    ],
)
def test_a_resume_compares_only_the_fields_the_method_and_task_read(method, task, read):
    config = UncertaintyConfig(method=method, task=task)
    compared = set(compared_settings(config))
    optional = set(METHOD_FIELDS) | set(TASK_FIELDS)
    # (epochs and steps are step budgets a resume may change: never compared.)
    assert compared & optional == read - {"epochs", "steps"}
    others = {name: 7 for name in optional - read if name not in ("rate",)}
    assert compared_settings(config.replace(**others)) == compared_settings(config)
