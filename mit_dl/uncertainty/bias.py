"""Lecture 5 lab: a VAE's reconstruction error finds the rare face groups of a biased training set.



Example (a notebook)::

    from mit_dl.uncertainty import bias
    report = bias.bias(UncertaintyConfig.from_preset("quick", method="vae"), "runs/face-bias")
"""

import keras
import numpy as np
import tensorflow as tf

from mit_dl import evaluation
from mit_dl.training import Run, Trainer
from mit_dl.uncertainty import figures
from mit_dl.uncertainty.histogram import HistogramWrapper
from mit_dl.uncertainty.scores import SCORES
from mit_dl.uncertainty.vae import VAEWrapper


# ------------------------------------------------------------------------------------------------------ bias
def bias(config=None, out_dir="runs/uncertainty-bias", log=print):
    """Do the VAE's and the histograms' scores find the faces benchmark's under-represented training faces?

    Trains a `VAEWrapper` around the faces lab's CNN (two logits: non-face,
    face) on the synthetic benchmark's training images, then scores every
    training *face* by the VAE's reconstruction error (raw and corrected for
    the pixels' entropy), by a `HistogramWrapper` on the VAE's latent means
    (the DB-VAE's rarity) and by one on the detector's Dense-512 features,
    and reports the AUROC of "rare group vs common group" for each score: dark
    skin and hats are 5% of the training faces each.

    Args:
        config: a `BiasConfig`.
        out_dir: the run directory (``bias.json``, ``bias_scores.png``).
        log: where progress lines go.

    Returns:
        The metrics written to ``metrics.json``.
    """
    from mit_dl.faces import synthetic
    from mit_dl.uncertainty.config import BiasConfig

    config = config or BiasConfig()
    train = synthetic.synthetic_faces(config.count, "train", seed=config.seed)
    log(f"data: {len(train)} synthetic training images ({int(train.labels.sum())} faces), seed {config.seed}")
    run = Run.start(out_dir, config, lab="uncertainty", log=log)
    model, history = _train_face_vae(config, train, run)
    scores = _face_scores(model, train.images[train.labels == 1], config.bins)
    attributes = {name: values[train.labels == 1] for name, values in train.attributes.items()}
    dark = attributes["skin"] == synthetic.SKIN.index("dark")
    hat = attributes["accessory"] == synthetic.ACCESSORY.index("hat")
    report = _rare_group_report(scores, {"dark skin or hat": dark | hat, "dark skin": dark, "hat": hat})
    rare = dark | hat
    figures.score_histograms(
        {
            f"{SCORES[name]}\nAUROC {report['auroc'][name]['dark skin or hat']:.3f}": (values[~rare], values[rare])
            for name, values in scores.items()
        },
        run.path / "bias_scores.png",
        title="training faces: common groups (blue) vs dark skin or hat (orange)",
    )
    for name, row in report["auroc"].items():
        log(f"{SCORES[name]}: AUROC rare vs common " + ", ".join(f"{g} {v:.3f}" for g, v in row.items()))
    return run.write_metrics({"history": history, "bias": report})


def _train_face_vae(config, train, run):
    """The faces CNN wrapped with a VAE on its inputs, trained on the benchmark's training images."""
    from mit_dl.faces import face_classifier

    with run.scope():
        model = VAEWrapper(face_classifier(outputs=2), latent_dim=config.latent_dim, seed=config.seed)
        model.compile(keras.optimizers.Adam(config.learning_rate))
        images = tf.data.Dataset.from_tensor_slices((train.images, train.labels.astype(np.int32)))
        batches = (
            images.shuffle(len(train), seed=config.seed)
            .repeat()
            .batch(config.batch_size)
            .map(lambda x, y: (tf.cast(x, tf.float32) / 255.0, y))
        )
        trainer = Trainer(model, strategy=run.strategy, checkpoint_dir=run.checkpoints, log_dir=run.logs)
        history = trainer.fit(batches, steps=config.steps, steps_per_epoch=min(500, config.steps))
    return model, history


def _face_scores(model, faces, bins):
    """Every face's reconstruction error and divergence (one reconstruction each), latent and feature rarity."""
    scaled = [faces[i : i + 500].astype(np.float32) / 255.0 for i in range(0, len(faces), 500)]
    latent = HistogramWrapper(model.model, features=model.latent_means, bins=bins)
    features = HistogramWrapper(model.model, bins=bins)  # the detector's own Dense-512 features
    for histograms in (latent, features):
        histograms.adapt(iter(scaled))
    errors, divergences = zip(*[(e.numpy(), d.numpy()) for e, d in map(model.reconstruction_scores, scaled)])
    return {
        "reconstruction_error": np.concatenate(errors),
        "reconstruction_divergence": np.concatenate(divergences),
        "latent_rarity": np.concatenate([latent.bias_score(x).numpy() for x in scaled]),
        "feature_rarity": np.concatenate([features.bias_score(x).numpy() for x in scaled]),
    }


def _rare_group_report(scores, groups):
    """The AUROC of each score for each rare group against the faces in none of them."""
    common = ~np.any(list(groups.values()), axis=0)
    return {
        "faces": len(common),
        "rare_share": {name: float(mask.mean()) for name, mask in groups.items()},
        "auroc": {
            score: {name: evaluation.ood_auroc(values[common], values[mask]) for name, mask in groups.items()}
            for score, values in scores.items()
        },
    }
