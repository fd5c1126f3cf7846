"""Lab 2 part 1: digit and clothing classifiers (MNIST, Fashion-MNIST), dense network then CNN.

- `config`: `ImagesConfig` (dataset, model, optimiser recipe, epochs, splits);
- `data`: the config's training and evaluation images (from `mit_dl.data.mnist`);
- `model`: the dense network and the CNN, compiled with loss and optimiser;
- `workflow`: ``train`` (train, evaluate, plot, export) and ``evaluate_export``.
"""

from mit_dl.images.config import ImagesConfig

__all__ = ["ImagesConfig"]
