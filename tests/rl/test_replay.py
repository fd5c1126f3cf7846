"""The replay ring: wrap-around, uniform sampling of what is stored, the capacity check, checkpoints."""

import numpy as np
import pytest
import tensorflow as tf

from mit_dl.errors import ConfigError
from mit_dl.rl.replay import ReplayBuffer


def _add(buffer, values):
    values = np.asarray(values, np.float32)
    k = len(values)
    buffer.add(
        np.repeat(values[:, None], 3, axis=1),
        values.astype(np.int32) % 2,
        values,
        np.repeat(values[:, None] + 0.5, 3, axis=1),
        values % 3 == 0,
    )
    return k


def test_the_ring_wraps_around_keeping_the_newest_transitions_aligned():
    buffer = ReplayBuffer(5, (3,), batch_size=2)
    _add(buffer, [0, 1, 2])
    assert int(buffer.size) == 3 and int(buffer.position) == 3
    _add(buffer, [3, 4, 5, 6])  # wraps: 5 and 6 overwrite 0 and 1
    assert int(buffer.size) == 5 and int(buffer.position) == 2
    np.testing.assert_array_equal(buffer.rewards.numpy(), [5, 6, 2, 3, 4])
    np.testing.assert_array_equal(buffer.observations.numpy()[:, 0] + 0.5, buffer.next_observations.numpy()[:, 0])
    np.testing.assert_array_equal(buffer.actions.numpy(), [1, 0, 0, 1, 0])
    np.testing.assert_array_equal(buffer.terminals.numpy(), [0, 1, 0, 1, 0])


def test_samples_come_only_from_stored_transitions_and_cover_them_uniformly():
    buffer = ReplayBuffer(100, (3,), batch_size=64, seed=0)
    _add(buffer, np.arange(10))  # 10 of 100 slots filled
    seen = np.concatenate([buffer.sample()[2].numpy() for _ in range(200)])
    counts = np.bincount(seen.astype(int), minlength=10)
    assert set(np.unique(seen)) == set(range(10))
    assert counts.min() > 0.8 * counts.mean() and counts.max() < 1.2 * counts.mean()
    observations, actions, rewards, next_observations, terminals = buffer.sample()
    np.testing.assert_array_equal(observations[:, 0].numpy(), rewards.numpy())  # rows stay aligned
    np.testing.assert_array_equal(actions.numpy(), rewards.numpy().astype(int) % 2)


def test_a_checkpoint_restores_the_contents_and_the_next_samples(tmp_path):
    buffer = ReplayBuffer(8, (3,), batch_size=4, seed=1)
    _add(buffer, np.arange(11))
    checkpoint = tf.train.Checkpoint(buffer=buffer)
    path = checkpoint.write(str(tmp_path / "replay"))
    expected = [buffer.sample()[2].numpy() for _ in range(3)]
    restored = ReplayBuffer(8, (3,), batch_size=4, seed=99)
    tf.train.Checkpoint(buffer=restored).read(path).assert_consumed()
    assert int(restored.size) == 8 and int(restored.position) == 3
    for batch in expected:
        np.testing.assert_array_equal(restored.sample()[2].numpy(), batch)


def test_a_capacity_smaller_than_a_batch_is_one_clear_error():
    with pytest.raises(
        ConfigError, match=r"replay_capacity must hold at least one batch \(32 transitions\), received 16"
    ):
        ReplayBuffer(16, (4,), batch_size=32)
