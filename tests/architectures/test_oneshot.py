"""One-shot learning: the batch losses against their definitions, the episodes, and a short run with its export."""

import json

import numpy as np
import pytest
import tensorflow as tf
from support import mit_dl_in_process, run_fresh_python, shared_data

from mit_dl.architectures import metric, oneshot
from mit_dl.architectures.config import OneShotConfig
from mit_dl.errors import ConfigError


def test_the_batch_hard_triplet_loss_takes_each_anchors_hardest_positive_and_negative():
    rng = np.random.default_rng(0)
    embeddings = rng.normal(size=(12, 4)).astype(np.float32)
    labels = np.array([0, 0, 0, 1, 1, 1, 2, 2, 2, 3, 3, 3])
    d = ((embeddings[:, None] - embeddings[None]) ** 2).sum(-1)
    losses = []
    for i in range(12):
        same = (labels == labels[i]) & (np.arange(12) != i)
        losses.append(max(0.0, d[i][same].max() - d[i][labels != labels[i]].min() + 0.3))
    np.testing.assert_allclose(
        float(metric.batch_hard_triplet_loss(labels, embeddings, 0.3)), np.mean(losses), rtol=1e-4
    )


def test_the_batch_contrastive_loss_averages_similar_and_dissimilar_pairs_apart():
    embeddings = np.array([[0, 0], [0, 1], [3, 0], [3, 0.5]], np.float32)
    labels = np.array([0, 0, 1, 1])
    # similar pairs: distances 1 and 0.5; dissimilar: 3, sqrt(9.25), sqrt(10), 3 (all beyond a margin of 2)
    assert float(metric.batch_contrastive_loss(labels, embeddings, margin=2.0)) == pytest.approx((1 + 0.25) / 2)
    near = float(metric.batch_contrastive_loss(labels, embeddings, margin=3.5))
    far = [3.0, np.sqrt(9.25), np.sqrt(10.0), np.sqrt(9 + 0.25)]
    assert near == pytest.approx(0.625 + np.mean([(3.5 - x) ** 2 for x in far]), rel=1e-5)


def test_one_shot_episodes_are_perfect_on_separated_classes_and_at_chance_on_noise():
    rng = np.random.default_rng(0)
    labels = np.repeat(np.arange(5), 40)
    separated = np.eye(5)[labels] * 10 + rng.normal(0, 0.1, (200, 5))
    assert oneshot.one_shot_accuracy(separated, labels, episodes=200)[0] == 1.0
    noise = rng.normal(size=(200, 5))
    accuracy, half_width = oneshot.one_shot_accuracy(noise, labels, episodes=400)
    assert abs(accuracy - 0.2) < 0.05 and 0 < half_width < 0.05
    assert oneshot.nearest_neighbour_accuracy(separated, labels) == 1.0


def test_the_digits_are_split_by_class():
    labels = np.arange(20) % 10
    (seen_x, seen_y), (unseen_x, unseen_y) = oneshot.split_digits(np.arange(20)[:, None], labels)
    assert set(seen_y) == set(range(5)) and set(unseen_y) == set(range(5, 10)) and len(seen_x) + len(unseen_x) == 20


def test_a_short_run_beats_raw_pixels_on_unseen_digits_and_its_export_embeds_without_mit_dl(tmp_path):
    folder = shared_data("mnist")
    config = OneShotConfig(epochs=2, width=8, episodes=300, data=str(folder))
    metrics = oneshot.train(config, tmp_path, log=lambda line: None)
    unseen = metrics["unseen"]
    assert unseen["one_shot"][0] > unseen["one_shot_pixels"][0]  # 2 epochs already beat the pixels
    assert (tmp_path / "embedding.png").stat().st_size > 5000
    np.save(tmp_path / "probe.npy", np.zeros((3, 28, 28), np.uint8))
    served = json.loads(
        run_fresh_python(f"""
        import json, sys, numpy as np, tensorflow as tf
        served = tf.saved_model.load({str(tmp_path / "saved_model")!r})
        vectors = served.embed(tf.constant(np.load({str(tmp_path / "probe.npy")!r})))["embeddings"].numpy()
        assert not any(m.startswith("mit_dl") for m in sys.modules)
        print(json.dumps({{"shape": list(vectors.shape), "norms": np.linalg.norm(vectors, axis=1).tolist()}}))
        """)
        .strip()
        .splitlines()[-1]
    )
    assert served["shape"] == [3, 64]
    np.testing.assert_allclose(served["norms"], 1.0, rtol=1e-4)
    assert json.loads((tmp_path / "saved_model" / "metadata.json").read_text())["kind"] == "architectures embedding"


def test_bad_one_shot_requests_are_one_sentence(tmp_path):
    with pytest.raises(ConfigError, match="ways must be between 2 and 5"):
        OneShotConfig(ways=6)
    result = mit_dl_in_process("architectures", "oneshot", "--loss", "hinge", "--out", tmp_path)
    assert result.returncode == 2 and "invalid choice: 'hinge'" in result.stderr


def test_the_losses_are_differentiable_keras_losses():
    embeddings = tf.Variable(np.random.default_rng(1).normal(size=(8, 3)).astype(np.float32))
    labels = np.array([0, 0, 1, 1, 2, 2, 3, 3])
    for loss in (metric.batch_hard_triplet_loss, metric.batch_contrastive_loss):
        with tf.GradientTape() as tape:
            value = loss(labels, embeddings)
        assert np.isfinite(float(value)) and np.abs(tape.gradient(value, embeddings).numpy()).sum() > 0
