"""Lecture 4 lab: deep generative models (work in progress).

- `sprites`: a dSprites-like benchmark with known factors, for disentanglement;
- `metrics`: sample quality in a classifier's features (Fréchet distance,
  kernel distance, class coverage, the 1-NN two-sample test) and the mutual
  information gap of a latent space.

The models (VAE, β-VAE, DCGAN, conditional GAN and VAE, WGAN-GP), their
configs, workflow and command are still to come.
"""
