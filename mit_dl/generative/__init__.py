"""Lecture 4 lab: deep generative models — VAE, β-VAE, conditional VAE, DCGAN, conditional GAN, WGAN-GP.

- `config`: `GenerativeConfig`, one run's settings, presets ``quick`` and ``full``;
- `data`: real Fashion-MNIST and MNIST, or the sprites, and training batches;
- `sprites`: a dSprites-like benchmark with known factors, for disentanglement;
- `losses`: the VAE loss with beta, the GAN losses (minimax, non-saturating),
  the Wasserstein critic and its gradient penalty;
- `networks`: encoder, decoder, generator, discriminator;
- `vae` and `gan`: the models (a VAE states its losses; a GAN owns its two-optimizer step);
- `model`: the model a config names, compiled, with the Trainer's arguments;
- `metrics`: Fréchet distance, kernel distance, class coverage, the 1-NN
  two-sample test, the mutual information gap;
- `quality`: the feature classifier, the reference sets, the quality report;
- `sampling`: compiled batched draws matching the export's signatures;
- `figures`: the run's pictures;
- `train` and `evaluate`: train and export a model; score, sample and evaluate an export.
"""

from mit_dl._lazy import exports
from mit_dl.generative.config import GenerativeConfig

# Imported on first use (they load TensorFlow); the configs stay light for the command line.
_LAZY = {
    "VAE": "vae",
    "vae_loss": "losses",
}
__all__ = ["GenerativeConfig", *_LAZY]
__getattr__, __dir__ = exports(__name__, _LAZY, globals())
