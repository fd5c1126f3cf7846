"""Lab 2 part 1: measure an exported classifier on a dataset's test images from its signature alone.



Example (a notebook)::

    from mit_dl.images import evaluate
    metrics = evaluate.evaluate_export("runs/dense-try/saved_model", "mnist")
"""

import numpy as np

from mit_dl import evaluation
from mit_dl.data import mnist
from mit_dl.errors import ConfigError, ExportError
from mit_dl.export import load_savedmodel


def evaluate_export(model_dir, dataset=None, data_dir=None):
    """Accuracy of an exported classifier on a test split, through its ``classify`` signature.

    Args:
        model_dir: the export's folder (``<run>/saved_model``).
        dataset: the dataset to test on (default: the one its metadata names).
        data_dir: a folder searched first for the data.

    Returns:
        ``{"dataset", "source", **classification_report}``.

    Raises:
        ExportError: the folder is not an image-classifier export.
        ConfigError: the dataset is neither given nor recorded.
    """
    served, metadata = load_savedmodel(model_dir)
    if not hasattr(served, "classify"):
        raise ExportError(
            f"{model_dir} is not an image-classifier export (it has no `classify` signature); pass "
            "the saved_model folder an images run exported (<run>/saved_model)."
        )
    recorded = metadata.get("config", metadata)  # exports before run records kept the settings at the top
    dataset = dataset or metadata.get("dataset")
    if dataset is None:
        raise ConfigError("dataset", f"is not recorded in {model_dir}; say which dataset it was trained on")
    test_x, test_y, source = mnist.load_arrays(dataset, "test", data_dir)
    holdout = recorded.get("split_test", metadata.get("holdout_from_test"))
    if holdout:
        # Trained on part of the test split: evaluate on exactly the held-out rest.
        _, (test_x, test_y) = mnist.split_arrays(test_x, test_y, holdout, seed=recorded.get("seed", 0))
        source += f" (the {len(test_x)} images held out from training)"
    probabilities = np.concatenate(
        [served.classify(test_x[i : i + 1000])["probabilities"].numpy() for i in range(0, len(test_x), 1000)]
    )
    report = evaluation.classification_report(test_y, probabilities, mnist.CLASS_NAMES[dataset])
    return {"dataset": dataset, "source": source, **report}
