"""Lecture 1 from scratch: the pieces every other lab stands on, each checked against TensorFlow / Keras.

- `autodiff`: reverse-mode automatic differentiation on NumPy arrays (vector-Jacobian products,
  topological ordering, gradient accumulation), forward mode beside it; equal to ``tf.GradientTape``.
- `optimizers`: SGD / momentum / Nesterov, AdaGrad, RMSProp, Adam, AdamW from their update
  equations, as Keras optimizers equal to the Keras twins.
- `normalization`: BatchNorm, LayerNorm, GroupNorm from their equations, equal to the Keras twins.
- `initialisation`: the schemes (also as a Keras initializer) and the variance of signals and
  gradients through depth; the symmetry problem.
- `regularisation`: an L2 penalty against decoupled decay; dropout's two forms.
- `gradients`: vanishing gradients through layers and time steps; clipping.
- `landscapes`: optimizers on a valley, a banana and a saddle; the learning-rate range test.

The lab around them: `config` (`FoundationsConfig`: one Fashion-MNIST run), `data`, `model` (an
MLP or the course CNN from the lab's own pieces), `train` (train, test, plot, export), `compare`
(variants over seeds, tables) and `experiments` (``mit-dl foundations optimizers|init|norm|
regularise|gradients``), `figures`, `demo`, `assets`, `commands` and `lab`.
"""

from mit_dl._lazy import exports
from mit_dl.foundations.config import FoundationsConfig

# Imported on first use (they load TensorFlow); the config stays light for the command line.
_LAZY = {
    name: name
    for name in (
        "autodiff",
        "optimizers",
        "normalization",
        "initialisation",
        "regularisation",
        "gradients",
        "landscapes",
        "figures",
        "train",
        "experiments",
        "compare",
    )
}
__all__ = ["FoundationsConfig", *_LAZY]
__getattr__, __dir__ = exports(__name__, _LAZY, globals())
