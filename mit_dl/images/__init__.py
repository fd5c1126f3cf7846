"""Lab 2 part 1: digit and clothing classifiers (MNIST, Fashion-MNIST), dense network then CNN.

- `config`: `ImagesConfig` (dataset, model, optimiser recipe, epochs, splits);
- `data`: the config's training and evaluation images (from `mit_dl.data.mnist`);
- `model`: the dense network and the CNN, compiled with loss and optimiser;
- `train` (train, evaluate, plot, export) and `evaluate` (``evaluate_export``).
"""

from mit_dl._lazy import exports
from mit_dl.images.config import ImagesConfig

# Imported on first use (they load TensorFlow); the configs stay light for the command line.
_LAZY = {
    "train": "train",
    "predict_probabilities": "model",
}
__all__ = ["ImagesConfig", *_LAZY]
__getattr__, __dir__ = exports(__name__, _LAZY, globals())
