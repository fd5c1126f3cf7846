"""One-shot learning with a Siamese embedding (UvA 4.3.2): train on digits 0-4, recognise 5-9 from one example each.

A ResNet-8 maps a digit to an L2-normalised vector and is trained with a
metric loss (`metric.batch_hard_triplet_loss` or
`metric.batch_contrastive_loss`) on MNIST's digits 0-4 only. It never sees
a 5, 6, 7, 8 or 9; yet in an *N-way one-shot episode* — one labelled
example of each of N unseen digits, then new images of them — each new
image takes the class of the nearest example in the embedding. The
accuracy averages many random episodes; the same episodes on raw pixels
are the baseline. The real data is MNIST's 10,000 test digits (the split
available offline): 0-4 to train, 5-9 to test, disjoint by class.

``train`` writes a run directory with ``metrics.json``, ``settings.json``,
``training_curves.png``, ``embedding.png`` (the unseen digits' embeddings,
two principal components) and the SavedModel ``saved_model/`` with
``embed(images uint8) -> {embeddings}``.
"""

import keras
import numpy as np
import tensorflow as tf

from mit_dl import plots
from mit_dl.architectures import data, metric, resnet
from mit_dl.architectures.config import OneShotConfig
from mit_dl.data import mnist
from mit_dl.export import IMAGE_REFUSED_DTYPES, Endpoint, export_savedmodel, scaled_images
from mit_dl.training import Run, Trainer

SEEN, UNSEEN = (0, 1, 2, 3, 4), (5, 6, 7, 8, 9)
LOSSES = {"triplet": metric.batch_hard_triplet_loss, "contrastive": metric.batch_contrastive_loss}


def split_digits(images, labels):
    """MNIST's digits split by class: 0-4 to train the embedding, 5-9 never seen in training.

    Args:
        images: uint8 ``[N, 28, 28, 1]``.
        labels: ``[N]`` digits.

    Returns:
        ``((seen images, labels), (unseen images, labels))``.
    """
    seen = np.isin(labels, SEEN)
    return (images[seen], labels[seen]), (images[~seen], labels[~seen])


def embedding_network(dim=64, width=16):
    """A ResNet-8 whose head outputs ``dim`` numbers, normalised to unit length.

    Args:
        dim: the embedding's size.
        width: the ResNet's first-stage channels.

    Returns:
        A `keras.Model` from ``[B, 28, 28, 1]`` images in [0, 1] to ``[B, dim]`` unit vectors.
    """
    trunk = resnet.resnet((28, 28, 1), classes=dim, depth=8, width=width, name="trunk")
    outputs = keras.layers.UnitNormalization(dtype="float32")(trunk.output)
    return keras.Model(trunk.input, outputs, name="embedding")


def one_shot_accuracy(embeddings, labels, ways=5, episodes=2000, queries=5, seed=0):
    """The mean accuracy of N-way one-shot episodes by the nearest support example.

    Each episode draws ``ways`` classes, one support example of each and ``queries`` other examples of
    each; a query is right when its nearest support example (Euclidean) has its class.

    Args:
        embeddings: ``[N, D]`` (or raw pixels flattened).
        labels: ``[N]``.
        ways: classes per episode.
        episodes: how many episodes.
        queries: query examples per class and episode.
        seed: the episodes' seed.

    Returns:
        ``(mean accuracy, 95% interval half-width over the episodes)``.
    """
    rng = np.random.default_rng(seed)
    classes = np.unique(labels)
    by_class = {c: np.flatnonzero(labels == c) for c in classes}
    scores = []
    for _ in range(episodes):
        chosen = rng.choice(classes, ways, replace=False)
        picks = [rng.choice(by_class[c], 1 + queries, replace=False) for c in chosen]
        support = embeddings[[p[0] for p in picks]]
        query = embeddings[np.concatenate([p[1:] for p in picks])]
        distances = ((query[:, None, :] - support[None, :, :]) ** 2).sum(-1)
        scores.append(np.mean(distances.argmin(1) == np.repeat(np.arange(ways), queries)))
    scores = np.asarray(scores)
    return float(scores.mean()), float(1.96 * scores.std(ddof=1) / np.sqrt(len(scores)))


def nearest_neighbour_accuracy(embeddings, labels):
    """Leave-one-out 1-nearest-neighbour accuracy in the embedding.

    Args:
        embeddings: ``[N, D]``.
        labels: ``[N]``.

    Returns:
        A float.
    """
    squares = (embeddings**2).sum(1)
    distances = squares[:, None] - 2 * embeddings @ embeddings.T + squares[None, :]
    np.fill_diagonal(distances, np.inf)
    return float(np.mean(labels[distances.argmin(1)] == labels))


def embed(model, images, batch_size=512):
    """Embeddings of uint8 images.

    Args:
        model: the embedding network.
        images: uint8 ``[N, 28, 28, 1]``.
        batch_size: images per forward pass.

    Returns:
        ``[N, D]`` float32.
    """
    batches = data.to_dataset(images, np.zeros(len(images), np.int32), batch_size)
    return np.concatenate([model(x, training=False).numpy() for x, _ in batches])


def train(config=None, out_dir="runs/architectures-oneshot", export=True, log=print):
    """Train the embedding on digits 0-4, score one-shot recognition of 5-9, export ``embed``.

    Args:
        config: a `OneShotConfig` (default: the quick triplet run).
        out_dir: the run directory (training again into it resumes the run).
        export: also write ``saved_model/``.
        log: where progress lines go.

    Returns:
        The metrics written to ``metrics.json``.
    """
    config = config or OneShotConfig()
    images, labels, source = mnist.load_arrays("mnist", "test", config.data)
    seen, unseen = split_digits(images[..., None], labels)
    log(f"data: MNIST from {source}: {len(seen[0])} images of 0-4 to train, {len(unseen[0])} of 5-9 unseen")
    run = Run.start(out_dir, config, lab="architectures", log=log)
    with run.scope():
        model, history = _fit(config, seen, unseen, run)
    report = _evaluate(model, unseen, history, config, run)
    if export:
        _export(model, config, report, run)
    log(
        f"{config.ways}-way one-shot accuracy on the unseen digits: {100 * report['one_shot'][0]:.1f}% "
        f"(raw pixels {100 * report['one_shot_pixels'][0]:.1f}%); 1-NN {100 * report['nearest_neighbour']:.1f}%"
    )
    return run.write_metrics({"source": source, "history": history, "unseen": report})


def _fit(config, seen, unseen, run):
    """Build the embedding and train it with the config's loss; ``(model, history)``."""
    model = embedding_network(config.embedding_dim, config.width)
    margin = config.loss_margin()
    loss = LOSSES[config.loss]

    def metric_loss(labels, embeddings):
        # The batch's loss for each of its examples: the Trainer averages per-example losses over the batch.
        ones = tf.ones_like(tf.reshape(tf.cast(labels, tf.float32), [-1]))
        return ones * loss(labels, embeddings, margin)

    trainer = Trainer(
        model,
        keras.optimizers.Adam(config.learning_rate),
        metric_loss,
        jit_compile=config.jit_compile,
        strategy=run.strategy,
        checkpoint_dir=run.checkpoints,
        log_dir=run.logs,
    )
    train_data = data.to_dataset(*seen, config.batch_size, shuffle=True, seed=config.seed)
    # The same loss on batches of the unseen digits: does the distance generalise to new classes?
    unseen_data = data.to_dataset(*unseen, config.batch_size)
    history = trainer.fit(train_data, epochs=config.epochs, validation_data=unseen_data, validation_name="unseen")
    return model, history


def _evaluate(model, unseen, history, config, run):
    """One-shot and nearest-neighbour accuracy on the unseen digits, against raw pixels; the embedding figure."""
    vectors = embed(model, unseen[0])
    pixels = unseen[0].reshape(len(unseen[0]), -1).astype(np.float32) / 255.0
    report = {
        "one_shot": one_shot_accuracy(vectors, unseen[1], config.ways, config.episodes, seed=config.seed),
        "one_shot_pixels": one_shot_accuracy(pixels, unseen[1], config.ways, config.episodes, seed=config.seed),
        "nearest_neighbour": nearest_neighbour_accuracy(vectors, unseen[1]),
        "nearest_neighbour_pixels": nearest_neighbour_accuracy(pixels, unseen[1]),
        "ways": config.ways,
        "episodes": config.episodes,
    }
    plots.training_curves(history, run.path / "training_curves.png", title=f"{config.loss} loss")
    _embedding_figure(vectors, unseen[1], run.path / "embedding.png")
    return report


def _embedding_figure(vectors, labels, path):
    centred = vectors - vectors.mean(0)
    _, _, axes = np.linalg.svd(centred, full_matrices=False)
    points = centred @ axes[:2].T
    fig, axis = plots.figure(figsize=(5, 4.5))
    for digit in np.unique(labels):
        chosen = labels == digit
        axis.scatter(points[chosen, 0], points[chosen, 1], s=3, label=str(digit))
    axis.set(title="unseen digits in the embedding (2 principal components)")
    axis.legend(markerscale=4, fontsize=8)
    plots.save(fig, path)


def _export(model, config, report, run):
    """Write ``saved_model/`` with ``embed(images uint8) -> {embeddings}``."""

    def embed_images(images):
        return {"embeddings": model(scaled_images(images, 28, 28, 1, "embed"), training=False)}

    endpoint = Endpoint(embed_images, [tf.TensorSpec(None, tf.uint8, name="images")], IMAGE_REFUSED_DTYPES)
    export_savedmodel(
        model,
        run.path / "saved_model",
        endpoints={"embed": endpoint},
        metadata=run.export_metadata(
            {
                "kind": "architectures embedding",
                "loss": config.loss,
                "trained_on_digits": list(SEEN),
                f"{config.ways}_way_one_shot_accuracy_unseen": report["one_shot"][0],
            }
        ),
    )
