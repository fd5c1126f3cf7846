"""Pong offline: the ROM ships with ale-py, the course's preprocessing, frame differences, the missing-extra error."""

import builtins

import numpy as np
import pytest
import tensorflow as tf

from mit_dl.errors import ConfigError
from mit_dl.rl import environments, pong


def test_pong_resets_and_steps_offline_as_80x80_frame_differences():
    env = pong.make_pong()
    first, _ = env.reset(seed=0)
    assert first.shape == (80, 80, 1) and not first.any()  # no previous frame: zeros
    moved = 0
    rewards = []
    for t in range(200):
        obs, reward, terminated, truncated, _ = env.step(t % 3)
        assert obs.shape == (80, 80, 1) and set(np.unique(obs)) <= {-1.0, 0.0, 1.0}
        moved += int(np.abs(obs).sum() > 0)
        rewards.append(reward)
        assert not (terminated or truncated)
    env.close()
    assert moved > 150  # ball and paddles move between most frames
    assert set(rewards) <= {-1.0, 0.0, 1.0} and -1.0 in rewards  # the untrained paddle concedes points


def test_preprocessing_keeps_paddles_and_ball_and_drops_the_background():
    frame = np.zeros((210, 160, 3), np.uint8)
    frame[..., 0] = 144  # background
    frame[101, 10:14, 0] = 92  # a paddle's colour on a kept row
    frame[35:195, 100, 0] = 109  # the second background colour
    image = pong.preprocess(frame)
    assert image.shape == (80, 80, 1) and image.dtype == np.float32
    np.testing.assert_array_equal(np.flatnonzero(image[..., 0].sum(0)), [5, 6])
    assert image.sum() == 2.0


def test_batched_pong_through_the_common_interface():
    envs = environments.make("pong", 2, seed=3)
    assert envs.observation_shape == (80, 80, 1) and envs.action_count == 3
    assert envs.reset().shape == (2, 80, 80, 1)
    step = envs.step(tf.constant([1, 2]))
    assert step.observation.shape == (2, 80, 80, 1) and step.reward.shape == (2,)


def test_pong_without_the_atari_extra_says_what_to_install(monkeypatch, tmp_path):
    real_import = builtins.__import__

    def no_ale(name, *args, **kwargs):
        if name == "ale_py":
            raise ImportError("No module named 'ale_py'")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_ale)
    with pytest.raises(ConfigError, match=r"'pong' needs the Atari emulator: install the atari extra"):
        environments.make("pong", 1)
    from support import mit_dl_in_process

    refused = mit_dl_in_process("rl", "train", "--env", "pong", "--out", tmp_path / "pong")
    assert refused.returncode == 2 and "install the atari extra" in refused.stderr
    assert not (tmp_path / "pong").exists()  # said before the run folder is made


def test_a_short_pong_run_records_its_training_curve_and_exports_a_frame_policy(tmp_path):
    from mit_dl.rl import RLConfig, evaluate, train

    config = RLConfig.from_preset(
        "quick", agent="reinforce", env="pong", num_envs=1, max_episode_steps=40, env_steps=80, evaluation_every=40
    )
    metrics = train.train(config, tmp_path / "pong", log=lambda *a: None)
    assert metrics["env_steps"] == 80 and metrics["final_evaluation"] is None and not metrics["solved"]
    assert np.isfinite(metrics["history"]["loss"]).all()
    assert [r["env_steps"] for r in metrics["evaluations"]] == [40, 80]  # training counters, no greedy games
    assert (tmp_path / "pong" / "returns.png").stat().st_size > 0
    act, metadata = evaluate.load_policy(tmp_path / "pong" / "policy")
    assert metadata["observation_shape"] == [80, 80, 1]
    actions = act(np.zeros((3, 80, 80, 1), np.float32))
    assert actions.shape == (3,) and set(actions.tolist()) <= {0, 1, 2}
    assert "training mean return" in train.summary_line(metrics)
