"""Modern CNNs (UvA 4, CSC413 9): VGG, Inception, ResNet, DenseNet, a small ViT; metric losses; the STN sampler.

    from mit_dl.architectures import ResidualBlock, InceptionModule, resnet, multiply_adds

- `vgg`, `inception`, `resnet`, `densenet`, `vit`: each architecture's block (a Keras layer, its
  equation and diagram in the docstring) and its network for 28x28x1 and 32x32x3 images;
- `counting`: parameters and multiply-adds read from the traced graph;
- `metric`: the contrastive and triplet losses;
- `spatial`: the spatial transformer's affine grid and bilinear sampler;
- `model`: the networks by name, with the input sizes each can take; `train`: one classifier run;
- `compare`: the degradation experiment (plain against residual networks of 8, 20, 56 layers) and the
  architectures side by side.
"""

from mit_dl._lazy import exports
from mit_dl.architectures.config import ArchitecturesConfig

# Imported on first use (they load TensorFlow); the config stays light for the command line.
_LAZY = {
    "multiply_adds": "counting",
    "parameter_counts": "counting",
    "VGGBlock": "vgg",
    "vgg": "vgg",
    "InceptionModule": "inception",
    "inception": "inception",
    "ResidualBlock": "resnet",
    "resnet": "resnet",
    "DenseBlock": "densenet",
    "Transition": "densenet",
    "densenet": "densenet",
    "PatchEmbedding": "vit",
    "vit": "vit",
    "train": "train",
    "metric": "metric",
    "spatial": "spatial",
}
__all__ = ["ArchitecturesConfig", *_LAZY]
__getattr__, __dir__ = exports(__name__, _LAZY, globals())
