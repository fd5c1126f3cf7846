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

from mit_dl.uncertainty.bayes import BayesByBackprop, BayesianModel
from mit_dl.uncertainty.dropout import DropoutWrapper, MCDropout
from mit_dl.uncertainty.ensemble import EnsembleWrapper
from mit_dl.uncertainty.histogram import HistogramWrapper
from mit_dl.uncertainty.mve import MVEWrapper
from mit_dl.uncertainty.vae import VAEWrapper

__all__ = [
    "BayesByBackprop",
    "BayesianModel",
    "DropoutWrapper",
    "EnsembleWrapper",
    "HistogramWrapper",
    "MCDropout",
    "MVEWrapper",
    "VAEWrapper",
]
