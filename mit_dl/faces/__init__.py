"""Lab 2 part 2: face detection and its bias, and the debiasing VAE (DB-VAE) that reduces it.

- `config`: `FacesConfig` (detector, data, the DB-VAE's hyperparameters, schedules; presets full, quick);
- `synthetic`: the deterministic face benchmark with hidden attribute groups;
- `sources`: real face data (scikit-image's LFW subset, the course's h5, image folders, CelebA);
- `data`: a config's training and test images, and the batches each detector trains on;
- `model`: the course's face CNN, and the DB-VAE with its loss and training step;
- `debias`: latent-histogram sampling probabilities and the resampling callback;
- `bias`: per-group accuracy, the worst face group, latent correlates of the attributes;
- `figures`: the DB-VAE's reconstructions, sampling extremes and latent traversal;
- `train`, `evaluate`, `compare`: train a detector, measure an export, compare the models over seeds.
"""

from mit_dl._lazy import exports
from mit_dl.faces.config import FacesConfig

# Imported on first use (they load TensorFlow); the configs stay light for the command line.
_LAZY = {
    "latent_histograms": "debias",
    "latent_rarity": "debias",
    "synthetic": "synthetic",
    "face_classifier": "model",
}
__all__ = ["FacesConfig", *_LAZY]
__getattr__, __dir__ = exports(__name__, _LAZY, globals())
