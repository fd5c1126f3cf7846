"""Lab 2 part 2: train the standard face CNN or the DB-VAE, measure per-group accuracy, plot, export.

Both models see one pipeline: RGB uint8 -> [0, 1], half faces and half
non-faces per batch (`mit_dl.debias.resampled_batches`). The standard CNN
draws faces uniformly; the DB-VAE's face draws follow its latent-density
sampling probabilities, recomputed from the current encoder after a warm-up
and then every ``resample_every`` steps (the course computed them once, from
an untrained encoder). Both train with ``training=True`` (BatchNorm updates).

Data: ``"synthetic"`` (the benchmark of `mit_dl.data.faces`, with hidden
attribute groups), ``"lfw"`` (scikit-image's 100 real faces + 100
non-faces) or the path of the course's ``train_face.h5``; the last two are
split into training and held-out images with the seed.
"""

import json
import pathlib

import numpy as np

from mit_dl import debias, evaluation, plots
from mit_dl.data import face_sources
from mit_dl.data import faces as face_data
from mit_dl.workflows.run_directory import check_settings

MODELS = ("cnn", "dbvae")
# Synthetic image counts and schedules; "full" is the README's comparison.
PRESETS = {
    "quick": {"train_count": 4000, "test_count": 1200, "steps": 600, "warmup_steps": 200, "resample_every": 100},
    "full": {"train_count": 8000, "test_count": 2400, "steps": 1500, "warmup_steps": 500, "resample_every": 250},
}
# The course's hyperparameters.
HYPERPARAMETERS = {"batch_size": 32, "latent_dim": 100, "learning_rate": 5e-4, "kl_weight": 0.005}
HELD_OUT_FRACTION = 0.3  # of real data (lfw, h5), stratified by label
# The latent traversal follows the dimension most correlated with this rare attribute value.
TRAVERSED_ATTRIBUTE = "skin=dark"


def load_data(data="synthetic", preset="quick", seed=0):
    """``(train, test, description)`` as `FaceData`; real data carries no attributes."""
    if preset not in PRESETS:
        raise ValueError(f"unknown preset {preset!r}; choose one of {sorted(PRESETS)}.")
    if data == "synthetic":
        sizes = PRESETS[preset]
        train = face_data.synthetic_faces(sizes["train_count"], "train", seed=seed)
        test = face_data.synthetic_faces(sizes["test_count"], "test", seed=seed)
        return train, test, f"synthetic benchmark, seed {seed}"
    if data == "lfw":
        images, labels = face_sources.lfw_subset()
        description = "scikit-image lfw_subset"
    else:
        images, labels = face_sources.course_h5(data)
        description = f"course h5 {data}"
    train, test = held_out_split(images, labels, HELD_OUT_FRACTION, seed)
    return train, test, f"{description}: {len(train)} train / {len(test)} held out (seed {seed})"


def held_out_split(images, labels, fraction, seed):
    """Stratified ``(train, test)`` `FaceData` split: ``fraction`` of each label held out."""
    rng = np.random.default_rng(seed)
    test_rows = []
    for label in (0, 1):
        rows = rng.permutation(np.flatnonzero(labels == label))
        test_rows.append(rows[: int(round(fraction * len(rows)))])
    test_mask = np.zeros(len(labels), bool)
    test_mask[np.concatenate(test_rows)] = True
    if test_mask.all() or not test_mask.any() or len(np.unique(labels[~test_mask])) < 2:
        raise ValueError(f"{len(labels)} images are too few to hold some out; give faces and non-faces.")
    return (face_data.FaceData(images[~test_mask], labels[~test_mask], {}),
            face_data.FaceData(images[test_mask], labels[test_mask], {}))


def train_model(model_name, train, steps, warmup_steps=500, resample_every=250, combine="max", seed=0,
                checkpoint_dir=None, batch_size=32, latent_dim=100, learning_rate=5e-4, kl_weight=0.005,
                augment=False, decay=False, steps_per_epoch=250, loss_fn=None, probabilities_fn=None, log=print):
    """Train ``"cnn"`` or ``"dbvae"`` on a `FaceData` split; returns ``(model, history, resampling)``.

    ``resampling`` holds the final face sampling probabilities and the steps
    at which they were recomputed (empty for the CNN, whose draws stay
    uniform). ``combine="max"`` (the course's rule) is the default: with 100
    latent dimensions the paper's product concentrates nearly all the mass on
    a handful of faces, and the DB-VAE then trains on those alone.
    ``augment`` adds random flips, shifts, brightness and contrast (for small
    real data sets such as ``lfw_subset``, whose 140 training images a CNN
    otherwise memorises). ``loss_fn(x, x_recon, y, y_logit, mu, logvar) ->
    [N]`` and ``probabilities_fn(mu, bins, smoothing) -> [N]`` replace the
    DB-VAE's loss and sampling probabilities (the lab notebook passes the
    learner's own).
    """
    import keras
    import tensorflow as tf

    from mit_dl.models.dbvae import DBVAE, dbvae_losses, face_classifier
    from mit_dl.training import Trainer
    from mit_dl.training.precision import with_loss_scaling

    if model_name not in MODELS:
        raise ValueError(f"unknown model {model_name!r}; choose one of {MODELS}.")
    keras.utils.set_random_seed(seed)
    faces, non_faces = train.images[train.labels == 1], train.images[train.labels == 0]
    if len(faces) == 0 or len(non_faces) == 0:
        raise ValueError("the training data needs both faces (label 1) and non-faces (label 0).")
    probabilities = tf.Variable(np.full(len(faces), 1.0 / len(faces), np.float32), trainable=False,
                                name="face_sampling_probabilities")
    batches = debias.resampled_batches(faces, non_faces, probabilities, batch_size, seed)
    if augment:
        batches = augmented(batches, seed)
    if decay:  # cosine to zero: the last steps settle instead of stopping at a noisy point
        learning_rate = keras.optimizers.schedules.CosineDecay(learning_rate, steps)
    optimizer = keras.optimizers.Adam(learning_rate)
    # The batches read the probabilities variable, so the iterator cannot be
    # checkpointed; a resumed run skips the consumed batches instead.
    common = {"checkpoint_dir": checkpoint_dir, "verbose": False, "checkpoint_data": False}
    steps_per_epoch = min(steps, steps_per_epoch)
    if model_name == "cnn":
        model = face_classifier()
        trainer = Trainer(model, optimizer, loss=keras.losses.BinaryCrossentropy(from_logits=True), **common)
        history = trainer.fit(batches.map(lambda x, y: (x, tf.cast(y[:, None], tf.float32))),
                              steps=steps, steps_per_epoch=steps_per_epoch)
        return model, history, {}

    model = DBVAE(latent_dim=latent_dim, seed=seed)
    optimizer = with_loss_scaling(optimizer)  # the custom step below scales its loss itself
    optimizer.build(model.trainable_variables)

    def step(batch):
        x, y = batch
        with tf.GradientTape() as tape:
            logit, mean, log_variance = model.encode(x, training=True)
            reconstruction = model.decoder(model.sampling([mean, log_variance], training=True), training=True)
            if loss_fn is not None:
                loss = tf.reduce_mean(loss_fn(x, reconstruction, tf.cast(y, tf.float32), logit, mean, log_variance))
            else:
                total, classification, vae = dbvae_losses(x, y, logit, mean, log_variance, reconstruction, kl_weight)
                loss = tf.reduce_mean(total)
            scaled = optimizer.scale_loss(loss)  # inside the tape: loss scaling is a recorded multiply
        gradients = tape.gradient(scaled, model.trainable_variables)
        optimizer.apply_gradients(zip(gradients, model.trainable_variables))
        if loss_fn is not None:
            return {"loss": loss}
        is_face = tf.cast(y, vae.dtype)
        return {"loss": loss, "classification": tf.reduce_mean(classification),
                "vae_faces": tf.reduce_sum(vae * is_face) / tf.maximum(tf.reduce_sum(is_face), 1.0)}

    resample = debias.ResampleEvery(model, faces, probabilities, every_steps=resample_every,
                                    warmup_steps=warmup_steps, combine=combine, probabilities_fn=probabilities_fn,
                                    log=log)
    trainer = Trainer(model, {"optimizer": optimizer}, train_step=step,
                      extra_checkpoint_objects={"face_sampling_probabilities": probabilities}, **common)
    history = trainer.fit(batches, steps=steps, steps_per_epoch=steps_per_epoch, callbacks=[resample])
    return model, history, {"probabilities": probabilities.numpy(), "resampled_at_steps": resample.updates}


def augmented(batches, seed, shift=6):
    """Seeded random flips, shifts of up to ``shift`` pixels, brightness and contrast on [0, 1] batches."""
    import tensorflow as tf

    def jitter(batch, key):
        (images, labels), seeds = batch, tf.random.experimental.stateless_split(tf.stack([key, seed]), 4)
        size = tf.shape(images)[1]
        images = tf.image.stateless_random_flip_left_right(images, seeds[0])
        padded = tf.pad(images, [[0, 0], [shift, shift], [shift, shift], [0, 0]], mode="REFLECT")
        images = tf.image.stateless_random_crop(padded, tf.stack([tf.shape(images)[0], size, size, 3]), seeds[1])
        images = tf.image.stateless_random_brightness(images, 0.15, seeds[2])
        images = tf.image.stateless_random_contrast(images, 0.7, 1.3, seeds[3])
        return tf.clip_by_value(images, 0.0, 1.0), labels

    return tf.data.Dataset.zip(batches, tf.data.Dataset.random(seed=seed + 1)).map(jitter)


def face_probabilities(model, images, batch_size=512):
    """``P(face)`` of uint8 images from a detector mapping [0, 1] images to one logit."""
    import tensorflow as tf

    predict = tf.function(lambda x: tf.sigmoid(model(tf.cast(x, tf.float32) / 255.0, training=False))[:, 0])
    return np.concatenate([predict(images[i:i + batch_size]).numpy() for i in range(0, len(images), batch_size)])


def summarise(report):
    """Adds the worst *face* group (the lab's measure of bias) to a `group_report`."""
    faces = {name: g["accuracy"] for name, g in report["groups"].items() if name.split("/")[0] == "face"}
    worst = min(faces, key=faces.get)
    return {**report, "worst_face_group": worst, "worst_face_group_accuracy": faces[worst]}


def evaluate(model, test):
    """Per-group report of a detector on a `FaceData` split (groups from its hidden attributes)."""
    return summarise(evaluation.group_report(test.labels, face_probabilities(model, test.images),
                                             test.group_names()))


def attribute_indicators(data):
    """One boolean column per attribute value except each attribute's first (the reference value)."""
    return {f"{name}={value}": data.attributes[name] == i
            for name, values in face_data.ATTRIBUTES.items() if name in data.attributes
            for i, value in enumerate(values) if i > 0}


def train(model_name="dbvae", data="synthetic", preset="quick", steps=None, seed=0, out_dir="runs/faces",
          combine="max", export=True, precision="float32", log=print):
    """Train one detector; write checkpoints, plots, metrics.json and the SavedModel(s) to ``out_dir``.

    ``precision``: one of `mit_dl.training.precision.PRECISIONS` (mixed
    precision for GPUs); logits, latent means and reconstructions stay float32.
    """
    from mit_dl.training.precision import precision_policy, precision_setting

    if model_name not in MODELS:
        raise ValueError(f"unknown model {model_name!r}; choose one of {MODELS}.")
    if combine not in debias.COMBINE_RULES:
        raise ValueError(f"combine must be one of {debias.COMBINE_RULES}, received {combine!r}.")
    if steps is not None and steps <= 0:
        raise ValueError(f"--steps must be a positive number, received {steps}.")
    train_data, test_data, source = load_data(data, preset, seed)
    schedule = dict(PRESETS[preset])
    steps = steps or schedule["steps"]
    out = pathlib.Path(out_dir)
    check_settings(out, {"model": model_name, "data": str(data), "preset": preset, "seed": seed,
                         "combine": combine if model_name == "dbvae" else None, **precision_setting(precision)})
    log(f"data: {source}; {int(train_data.labels.sum())} faces + {int((1 - train_data.labels).sum())} non-faces "
        f"for training, {len(test_data)} test images")
    # Small real sets (lfw: 140 training images) need augmentation and a
    # decaying learning rate; the synthetic benchmark keeps the course's recipe.
    real = data != "synthetic"
    with precision_policy(precision):
        model, history, resampling = train_model(
            model_name, train_data, steps, warmup_steps=min(schedule["warmup_steps"], steps),
            resample_every=schedule["resample_every"], combine=combine, seed=seed,
            checkpoint_dir=out / "checkpoints", augment=real, decay=real, log=log, **HYPERPARAMETERS)
    report = evaluate(model, test_data)
    metrics = {"model": model_name, "data": str(data), "source": source, "preset": preset, "steps": steps,
               "seed": seed, "combine": combine if model_name == "dbvae" else None, "precision": precision,
               "augment": real, "cosine_decay": real, **HYPERPARAMETERS, "history": history, "test": report}
    plots.group_accuracy({model_name: report}, out / "group_accuracy.png",
                         title=f"{model_name} on {source}: per-group accuracy")
    if model_name == "dbvae":
        metrics["resampled_at_steps"] = resampling["resampled_at_steps"]
        metrics["latent"] = dbvae_figures(model, train_data, test_data, resampling["probabilities"], out)
    if export:
        _export(model, model_name, out, {k: metrics[k] for k in ("model", "data", "preset", "seed", "steps")}
                | {"test_accuracy": report["accuracy"], "source": source})
    (out / "metrics.json").write_text(json.dumps(metrics, indent=2))
    log(f"test accuracy {100 * report['accuracy']:.1f}%, worst face group {report['worst_face_group']} "
        f"{100 * report['worst_face_group_accuracy']:.1f}%")
    return metrics


def _export(model, model_name, out, metadata):
    from mit_dl.export import decoder_endpoint, export_savedmodel, face_detector_endpoint

    export_savedmodel(model, out / "detector", endpoints={"detect": face_detector_endpoint(model)},
                      metadata=metadata)
    if model_name == "dbvae":
        export_savedmodel(model.decoder, out / "decoder",
                          endpoints={"decode": decoder_endpoint(model.decoder, model.latent_dim)},
                          metadata={**metadata, "latent_dim": model.latent_dim})


def dbvae_figures(model, train_data, test_data, probabilities, out):
    """Reconstructions, most/least likely faces to be drawn, and a latent traversal; returns the latent report."""
    test_faces = test_data.images[test_data.labels == 1]
    mean = debias.latent_means(model, test_faces).numpy()
    shown = test_faces[np.linspace(0, len(test_faces) - 1, 8).astype(int)]
    _, shown_mean, _ = model.encode(shown.astype(np.float32) / 255.0)
    rebuilt = _to_uint8(model.decoder(shown_mean))
    plots.image_grid(np.concatenate([shown, rebuilt]), ["input"] * 8 + ["reconstruction"] * 8,
                     out / "reconstructions.png", columns=8, title="DB-VAE: test faces and decoded latent means")

    train_faces = train_data.images[train_data.labels == 1]
    order = np.argsort(probabilities)
    picks = np.r_[order[::-1][:8], order[:8]]
    train_face_groups = train_data.group_names()[train_data.labels == 1] if train_data.attributes else None
    titles = [f"{p * len(probabilities):.1f}x" + (f"\n{train_face_groups[i][5:]}" if train_face_groups is not None
                                                   else "") for i, p in zip(picks, probabilities[picks])]
    plots.image_grid(train_faces[picks], titles, out / "sampling_extremes.png", columns=8,
                     title="Training faces drawn most (top) and least (bottom) often, x uniform rate")

    test_face_data = face_data.FaceData(test_faces, np.ones(len(test_faces), np.int32),
                                        {k: v[test_data.labels == 1] for k, v in test_data.attributes.items()})
    correlations = evaluation.latent_correlations(mean, attribute_indicators(test_face_data))
    if TRAVERSED_ATTRIBUTE in correlations:
        best = correlations[TRAVERSED_ATTRIBUTE][0]
        dimension = best["dimension"]
        label = f"dimension {dimension}, r = {best['r']:+.2f} with {TRAVERSED_ATTRIBUTE}"
    else:  # no attributes (real data): the most spread-out dimension
        dimension = int(np.argmax(mean.std(0)))
        label = f"dimension {dimension}, the one with the largest spread"
    steps = np.linspace(-2.5, 2.5, 9)
    z = np.repeat(mean.mean(0, keepdims=True), len(steps), 0)
    z[:, dimension] = mean[:, dimension].mean() + steps * mean[:, dimension].std()
    plots.image_grid(_to_uint8(model.decoder(z.astype(np.float32))), [f"{s:+.1f} sd" for s in steps],
                     out / "latent_traversal.png", columns=len(steps), title=f"Latent traversal: {label}")
    return {"traversed_dimension": dimension, "correlations": correlations}


def _to_uint8(images):
    return np.round(np.clip(np.asarray(images), 0, 1) * 255).astype(np.uint8)


def evaluate_export(model_dir, test_faces=None):
    """Per-group accuracy of an exported detector, through its ``detect`` signature.

    With ``test_faces`` (a folder of faces in one sub-folder per group), every
    image is a face and each sub-folder is a group; otherwise the held-out
    data the detector was trained against is rebuilt from its metadata.
    """
    from mit_dl.export import load_savedmodel

    served, metadata = load_savedmodel(model_dir)
    if test_faces:
        images, groups = face_sources.image_folder(test_faces)
        labels = np.ones(len(images), np.int32)
        groups = np.array([f"face/{g}" for g in groups])
        source = f"faces in {test_faces}"
    else:
        if "data" not in metadata:
            raise ValueError(f"{model_dir} has no metadata.json naming its data; pass --test-faces DIR.")
        _, test, source = load_data(metadata["data"], metadata.get("preset", "quick"), metadata.get("seed", 0))
        images, labels, groups = test.images, test.labels, test.group_names()
    p = np.concatenate([served.detect(images[i:i + 500])["probability"].numpy()
                        for i in range(0, len(images), 500)])
    return {"source": source, **summarise(evaluation.group_report(labels, p, groups))}


def compare(seeds=(0, 1, 2), data="synthetic", preset="full", out_dir="runs/faces-compare", combine="max",
            steps=None, precision="float32", log=print):
    """Train the CNN and the DB-VAE on the same data for each seed; write the table and the plot."""
    out = pathlib.Path(out_dir)
    runs = {}
    for seed in seeds:
        for model_name in MODELS:
            log(f"seed {seed}: training {model_name}")
            runs[(seed, model_name)] = train(model_name, data, preset, steps=steps, seed=seed, combine=combine,
                                             out_dir=out / f"seed-{seed}" / model_name, precision=precision,
                                             log=log)["test"]
    rows = [_row(seed, runs[(seed, "cnn")], runs[(seed, "dbvae")]) for seed in seeds]
    mean = {key: float(np.mean([row[key] for row in rows])) for key in rows[0] if key != "seed"}
    summary = {"data": str(data), "preset": preset, "steps": steps or PRESETS[preset]["steps"], "combine": combine,
               "precision": precision, "seeds": list(seeds), "per_seed": rows,
               "mean": mean,
               "mean_group_accuracy": {m: _mean_groups([runs[(s, m)] for s in seeds]) for m in MODELS}}
    out.mkdir(parents=True, exist_ok=True)
    (out / "comparison.json").write_text(json.dumps(summary, indent=2))
    (out / "comparison.md").write_text(comparison_table(summary))
    plots.group_accuracy({"standard CNN": runs[(seeds[0], "cnn")], "DB-VAE": runs[(seeds[0], "dbvae")]},
                         out / "group_accuracy.png", title=f"Per-group test accuracy, seed {seeds[0]}")
    log(comparison_table(summary))
    return summary


def _row(seed, cnn, dbvae):
    return {"seed": seed, "cnn_accuracy": cnn["accuracy"], "dbvae_accuracy": dbvae["accuracy"],
            "cnn_worst_face": cnn["worst_face_group_accuracy"], "dbvae_worst_face": dbvae["worst_face_group_accuracy"],
            "worst_face_gain": dbvae["worst_face_group_accuracy"] - cnn["worst_face_group_accuracy"],
            "accuracy_change": dbvae["accuracy"] - cnn["accuracy"]}


def _mean_groups(reports):
    return {name: float(np.mean([r["groups"][name]["accuracy"] for r in reports])) for name in reports[0]["groups"]}


def comparison_table(summary):
    """Markdown table: overall and worst-face-group accuracy per seed and their mean."""
    lines = ["| seed | CNN overall | DB-VAE overall | change | CNN worst face group | DB-VAE worst face group | gain |",
             "|---|---|---|---|---|---|---|"]
    for row in summary["per_seed"] + [{"seed": "mean", **summary["mean"]}]:
        lines.append(f"| {row['seed']} | {100 * row['cnn_accuracy']:.1f}% | {100 * row['dbvae_accuracy']:.1f}% | "
                     f"{100 * row['accuracy_change']:+.1f} | {100 * row['cnn_worst_face']:.1f}% | "
                     f"{100 * row['dbvae_worst_face']:.1f}% | {100 * row['worst_face_gain']:+.1f} |")
    return "\n".join(lines) + "\n"
