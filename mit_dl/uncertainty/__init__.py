"""Lecture 5 lab: uncertainty — aleatoric and epistemic estimates as wrappers for any Keras model.

Each wrapper holds a user's model (functional, ``Sequential`` or, where it
can, subclassed) and returns from one call a dict: the prediction plus
named uncertainty outputs. Each trains with the shared `Trainer` (its own
loss where it needs one), checkpoints, resumes and exports.

- `MVEWrapper` (`mve`): a log-variance head trained by the Gaussian NLL: aleatoric;
- `DropoutWrapper` (`dropout`): Monte Carlo dropout, ``T`` passes in one batched call: epistemic;
- `EnsembleWrapper` (`ensemble`): a deep ensemble from one builder with different seeds: epistemic;
- `BayesByBackprop`, `BayesianModel` (`bayes`): a variational Dense layer on ``tfp.distributions``;
- `VAEWrapper` (`vae`): a VAE's reconstruction error on the inputs: novelty;
- `HistogramWrapper` (`histogram`): latent-density rarity (the DB-VAE's histograms): representation bias.

`summaries` holds the decomposition into total, aleatoric and epistemic
parts; `data` the lecture's regression toy; `losses` the Gaussian NLL. The
calibration and out-of-distribution metrics are lab-agnostic and live in
`mit_dl.evaluation`.
"""

from mit_dl._lazy import exports

# The wrappers import TensorFlow and TensorFlow Probability: loaded on first use, so that importing
# `mit_dl.uncertainty.config` (the command line does) stays light.
_LAZY = {
    "BayesByBackprop": "bayes",
    "BayesianModel": "bayes",
    "DropoutWrapper": "dropout",
    "MCDropout": "dropout",
    "EnsembleWrapper": "ensemble",
    "HistogramWrapper": "histogram",
    "MVEWrapper": "mve",
    "VAEWrapper": "vae",
}
__all__ = sorted(_LAZY)
__getattr__, __dir__ = exports(__name__, _LAZY, globals())
