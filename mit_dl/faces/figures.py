"""The DB-VAE's figures: reconstructions, the faces drawn most and least often, a latent traversal.

After a short run (the ``quick`` preset) the decoder has not learned faces
yet and these figures show grey blobs; they need the ``full`` preset.
"""

import numpy as np

from mit_dl import plots
from mit_dl.faces import debias
from mit_dl.faces.bias import attribute_indicators, latent_correlations
from mit_dl.faces.synthetic import FaceData

# The latent traversal follows the dimension most correlated with this rare attribute value.
TRAVERSED_ATTRIBUTE = "skin=dark"


def dbvae_figures(model, train_data, test_data, probabilities, out):
    """Write the DB-VAE's reconstructions, most / least likely faces to be drawn, and a latent traversal.

    Args:
        model: the trained `DBVAE`.
        train_data: the training `FaceData`.
        test_data: the test `FaceData` (synthetic: with attributes).
        probabilities: the final face sampling probabilities.
        out: the run directory.

    Returns:
        The latent report: which dimensions correlate with which hidden attribute.
    """
    test_faces = test_data.images[test_data.labels == 1]
    mean = debias.latent_means(model, test_faces).numpy()
    shown = test_faces[np.linspace(0, len(test_faces) - 1, 8).astype(int)]
    _, shown_mean, _ = model.encode(shown.astype(np.float32) / 255.0)
    rebuilt = _to_uint8(model.decoder(shown_mean))
    plots.image_grid(
        np.concatenate([shown, rebuilt]),
        ["input"] * 8 + ["reconstruction"] * 8,
        out / "reconstructions.png",
        columns=8,
        title="DB-VAE: test faces and decoded latent means" + _alike_note(rebuilt),
    )

    train_faces = train_data.images[train_data.labels == 1]
    order = np.argsort(probabilities)
    picks = np.r_[order[::-1][:8], order[:8]]
    train_face_groups = train_data.group_names()[train_data.labels == 1] if train_data.attributes else None
    titles = [
        f"{p * len(probabilities):.1f}x" + (f"\n{train_face_groups[i][5:]}" if train_face_groups is not None else "")
        for i, p in zip(picks, probabilities[picks])
    ]
    plots.image_grid(
        train_faces[picks],
        titles,
        out / "sampling_extremes.png",
        columns=8,
        title="Training faces drawn most (top) and least (bottom) often, x uniform rate",
    )

    test_face_data = FaceData(
        test_faces,
        np.ones(len(test_faces), np.int32),
        {k: v[test_data.labels == 1] for k, v in test_data.attributes.items()},
    )
    correlations = latent_correlations(mean, attribute_indicators(test_face_data))
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
    traversed = _to_uint8(model.decoder(z.astype(np.float32)))
    plots.image_grid(
        traversed,
        [f"{s:+.1f} sd" for s in steps],
        out / "latent_traversal.png",
        columns=len(steps),
        title=f"Latent traversal: {label}" + _alike_note(traversed),
    )
    return {"traversed_dimension": dimension, "correlations": correlations}


# Decoded images whose pixels differ by less than this (grey levels, averaged) all look the same.
ALIKE_LEVELS = 4.0


def _alike_note(images):
    """A line for a figure whose decoded images all look alike (a decoder trained too briefly), else ``""``."""
    if np.asarray(images, np.float64).std(axis=0).mean() >= ALIKE_LEVELS:
        return ""
    return "\n(these decoded images are all alike: the decoder has not trained long enough to show anything)"


def _to_uint8(images):
    return np.round(np.clip(np.asarray(images), 0, 1) * 255).astype(np.uint8)


def group_accuracy(reports, path, title="Per-group accuracy"):
    """Horizontal bars of per-group accuracy with 95% intervals, one colour per model.

    Args:
        reports: ``{model name: mit_dl.evaluation.group_report(...)}`` over the same groups.
        path: the PNG file to write.
        title: the figure's title.

    Returns:
        ``path`` as a `pathlib.Path`.
    """
    groups = list(next(iter(reports.values()))["groups"])
    height = 0.8 / len(reports)
    fig, ax = plots.figure(figsize=(8, 0.32 * len(groups) * max(1, len(reports) / 1.5) + 1.2))
    for k, (name, report) in enumerate(reports.items()):
        accuracy = np.array([report["groups"][g]["accuracy"] for g in groups])
        interval = np.array([report["groups"][g]["accuracy_95ci"] for g in groups])
        errors = np.clip(np.stack([accuracy - interval[:, 0], interval[:, 1] - accuracy]), 0, None)
        ax.barh(
            np.arange(len(groups)) + k * height,
            100 * accuracy,
            height,
            xerr=100 * errors,
            capsize=2,
            label=f"{name} (overall {100 * report['accuracy']:.1f}%)",
        )
    ax.set_yticks(np.arange(len(groups)) + height * (len(reports) - 1) / 2, groups, fontsize=7)
    ax.invert_yaxis()
    ax.set_xlim(0, 100)
    ax.set_xlabel("accuracy (%)")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=8, loc="upper center", bbox_to_anchor=(0.5, -0.1), ncol=2)
    return plots.save(fig, path)
