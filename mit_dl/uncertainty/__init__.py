"""Lecture 5 lab (in progress): uncertainty — aleatoric and epistemic estimates as wrappers for any Keras model.

- `losses`: the Gaussian negative log-likelihood with a predicted log-variance;
- `data`: the lecture's regression toy, ``y = x^3`` with noise whose spread
  depends on ``x`` and a gap in the training inputs;
- `mve`: `MVEWrapper`, mean-variance estimation (aleatoric uncertainty).

The calibration and out-of-distribution metrics (ECE, reliability bins,
Brier score, NLL, OOD AUROC and AUPR) are lab-agnostic and live in
`mit_dl.evaluation`.
"""

from mit_dl.uncertainty.mve import MVEWrapper

__all__ = ["MVEWrapper"]
