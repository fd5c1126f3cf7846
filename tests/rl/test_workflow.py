"""The lab end to end: short runs that learn, resume exactness after SIGKILL, exports without mit_dl, the CLI."""

import json
import pathlib

import numpy as np
import pytest
import tensorflow as tf
from support import kill_then_resume, run_fresh_python, run_mit_dl, start_script

from mit_dl.errors import ConfigError, ExportError
from mit_dl.rl import RLConfig, data, environments, evaluate, train
from mit_dl.rl.evaluate import play_episodes
from mit_dl.rl.model import build_model

JOB = pathlib.Path(__file__).with_name("resume_job.py")


def _random_policy_return():
    rng = np.random.default_rng(0)
    result = play_episodes(lambda o: rng.integers(0, 2, len(o)), lambda i: data.gymnasium_env("cartpole"), 50)
    return result["mean_return"]


def test_a_short_dqn_run_on_the_tensorflow_cartpole_plays_far_better_than_chance(tmp_path):
    config = RLConfig.from_preset(
        "quick",
        agent="dqn",
        env="cartpole-tf",
        num_envs=4,
        collect_steps=64,
        gradient_steps=64,
        hidden_units=64,
        exploration_steps=3000,
        env_steps=6144,
        evaluation_every=3072,
        evaluation_episodes=20,
    )
    metrics = train.train(config, tmp_path / "run", export=False, log=lambda *a: None)
    chance = _random_policy_return()  # about 22 steps before the pole falls
    assert 15 < chance < 30
    # Evaluated on gymnasium's CartPole (not the TensorFlow one it trained on), greedily, from fixed seeds.
    assert metrics["final_evaluation"]["mean_return"] > 3 * chance, metrics["evaluations"]
    assert metrics["env_steps"] == 6144 and len(metrics["evaluations"]) == 2
    assert (tmp_path / "run" / "returns.png").stat().st_size > 10_000


def test_a_killed_dqn_run_resumes_to_the_same_weights_replay_buffer_and_return_curve(tmp_path):
    reference, resumed = tmp_path / "reference", tmp_path / "resumed"
    job = start_script(JOB, reference)
    assert job.wait(timeout=600) == 0, job.stderr.read()[-3000:]
    kill_then_resume(JOB, resumed, resumed / "checkpoints" / "ckpt-8.index", resumed / "checkpoints" / "ckpt-24.index")

    expected, got = np.load(reference / "state.npz"), np.load(resumed / "state.npz")
    assert len(expected.files) > 10  # online and target networks, Adam's slots, replay, tracker, environments
    for key in expected.files:
        np.testing.assert_array_equal(got[key], expected[key], err_msg=key)

    def curve(run):
        records = json.loads((run / "evaluations.json").read_text())["evaluations"]
        return [{k: v for k, v in r.items() if k != "train_seconds"} for r in records]

    assert len(curve(reference)) == 6 and curve(resumed) == curve(reference)
    history = json.loads((reference / "logs" / "history.json").read_text())
    assert json.loads((resumed / "logs" / "history.json").read_text())["return_100"] == history["return_100"]


def _checkpointed(run_dir):
    """Every value of a run's newest checkpoint; the gymnasium environments unpickled to their state."""
    import base64
    import pickle

    reader = tf.train.load_checkpoint(tf.train.latest_checkpoint(str(run_dir / "checkpoints")))
    dtypes = reader.get_variable_to_dtype_map()
    values = {n: reader.get_tensor(n) for n in dtypes if dtypes[n] not in (tf.variant, tf.resource)}
    envs, _ = pickle.loads(base64.b64decode(values.pop("env/.ATTRIBUTES/py_state")))
    values.pop("epochs_recorded/.ATTRIBUTES/VARIABLE_VALUE")  # one epoch or two: the budget was extended
    values.pop("_CHECKPOINTABLE_OBJECT_GRAPH")
    states = [
        (e.unwrapped.state, e.unwrapped.np_random.bit_generator.state, e.get_wrapper_attr("_elapsed_steps"))
        for e in envs
    ]
    return values, states


def test_a_gymnasium_run_resumes_exactly_with_its_environments_mid_episode(tmp_path):
    def config(env_steps):
        return RLConfig.from_preset(
            "quick",
            agent="dqn",
            env="cartpole",
            num_envs=2,
            collect_steps=16,
            gradient_steps=8,
            batch_size=32,
            learning_starts=64,
            replay_capacity=1000,
            exploration_steps=400,
            hidden_units=16,
            env_steps=env_steps,
            evaluation_every=10_000,
            evaluation_episodes=1,
            seed=3,
        )

    quiet = lambda *a: None  # noqa: E731
    whole = train.train(config(256), tmp_path / "whole", export=False, log=quiet)
    train.train(config(128), tmp_path / "resumed", export=False, log=quiet)  # stops mid-episode, checkpointed
    resumed = train.train(config(256), tmp_path / "resumed", export=False, log=quiet)
    assert resumed["episodes"] == whole["episodes"]
    (expected, expected_envs), (got, got_envs) = _checkpointed(tmp_path / "whole"), _checkpointed(tmp_path / "resumed")
    assert sorted(got) == sorted(expected) and len(expected) > 30  # networks, Adam, replay, tracker, random state
    for name in expected:
        np.testing.assert_array_equal(got[name], expected[name], err_msg=name)
    for (state, random_state, elapsed), (state_now, random_now, elapsed_now) in zip(expected_envs, got_envs):
        np.testing.assert_array_equal(state_now, state)
        assert random_now == random_state and elapsed_now == elapsed > 0  # mid-episode, same random stream


def test_reinforce_and_a2c_iterations_learn_and_exports_play_gymnasium_without_mit_dl(tmp_path):
    for agent, extra in (("reinforce", {"max_episode_steps": 200}), ("a2c", {"rollout_steps": 8, "num_envs": 16})):
        config = RLConfig.from_preset(
            "quick", agent=agent, env="cartpole-tf", env_steps=3000, evaluation_every=10_000, **extra
        )
        metrics = train.train(config, tmp_path / agent, log=lambda *a: None)
        first, last = metrics["history"]["return_100"][0], metrics["train_return_100"]
        assert np.isfinite(metrics["history"]["loss"]).all() and last > first, (agent, metrics["history"])
        assert (tmp_path / agent / "episode.gif").read_bytes()[:6] == b"GIF89a"
    code = f"""
        import sys, gymnasium, numpy as np, tensorflow as tf
        policy = tf.saved_model.load({str(tmp_path / "a2c" / "policy")!r})
        env = gymnasium.make("CartPole-v1")
        obs, _ = env.reset(seed=0)
        for _ in range(20):
            action = int(policy.act(tf.constant(obs[None], tf.float32))["actions"][0])
            obs, reward, terminated, truncated, _ = env.step(action)
            if terminated or truncated:
                break
        assert "mit_dl" not in sys.modules and reward == 1.0
        try:
            policy.act(tf.zeros((2, 5)))
        except tf.errors.InvalidArgumentError as error:
            assert "act: observations must be shaped [N, 4]" in str(error)
        else:
            raise AssertionError("a wrong observation shape must fail")
        for bad in (np.nan, np.inf):
            try:
                policy.act(tf.constant([[0.0, bad, 0.0, 0.0]], tf.float32))
            except tf.errors.InvalidArgumentError as error:
                assert "act: observations must be finite numbers" in str(error)
            else:
                raise AssertionError("a NaN or infinite observation must fail, not answer action 0")
    """
    run_fresh_python(code)


def test_cli_trains_a_dqn_plays_its_export_films_it_and_the_q_values_load_without_mit_dl(tmp_path):
    out = tmp_path / "dqn"
    args = ("rl", "train", "--agent", "dqn", "--env", "cartpole", "--env-steps", "512", "--collect-steps", "64")
    args += ("--gradient-steps", "8", "--learning-starts", "128", "--hidden-units", "32", "--evaluation-every", "256")
    args += ("--evaluation-episodes", "3", "--out", str(out))
    result = run_mit_dl(*args)
    assert result.returncode == 0, result.stderr[-3000:]
    assert "512 env steps" in result.stdout and "evaluation at 256 env steps" in result.stdout
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["config"]["agent"] == "dqn" and metrics["lab"] == "rl"
    again = run_mit_dl(*args)  # a finished run is left as it is
    assert again.returncode == 0 and json.loads((out / "metrics.json").read_text())["env_steps"] == 512
    played = run_mit_dl(
        "rl", "play", "--model", str(out / "policy"), "--episodes", "2", "--video", str(tmp_path / "e.gif")
    )
    assert played.returncode == 0, played.stderr[-3000:]
    assert "mean return" in played.stdout and (tmp_path / "e.gif").read_bytes()[:6] == b"GIF89a"
    code = f"""
        import sys, numpy as np, tensorflow as tf
        policy = tf.saved_model.load({str(out / "policy")!r})
        obs = tf.constant(np.zeros((3, 4), np.float32))
        q = policy.q_values(obs)["q_values"].numpy()
        actions = policy.act(obs)["actions"].numpy()
        assert q.shape == (3, 2) and (actions == q.argmax(1)).all() and "mit_dl" not in sys.modules
    """
    run_fresh_python(code)
    with pytest.raises(ConfigError, match="episodes must be a positive number, received 0"):
        evaluate.play(out / "policy", episodes=0)


def test_bad_settings_are_one_clear_error_each(tmp_path):
    with pytest.raises(ConfigError, match="agent must be one of dqn, reinforce, a2c"):
        RLConfig(agent="ppo")
    with pytest.raises(ConfigError, match="env must be one of cartpole, cartpole-tf, pong"):
        RLConfig(env="lunar")
    with pytest.raises(ConfigError, match=r"gamma must be a number in \[0, 1\], received -0.5"):
        RLConfig(gamma=-0.5)
    with pytest.raises(ConfigError, match=r"replay_capacity must hold at least one batch \(64 transitions\)"):
        RLConfig(replay_capacity=10)
    with pytest.raises(ConfigError, match="distribute must be none"):
        RLConfig(distribute="mirrored")
    with pytest.raises(ExportError, match="not a SavedModel export"):
        evaluate.play(tmp_path)


def test_the_presets_budgets_and_defaults_follow_the_agent_and_the_environment():
    assert (
        RLConfig.from_preset("quick").total_env_steps == 150_000
        and RLConfig.from_preset("full").total_env_steps == 500_000
    )
    assert RLConfig.from_preset("quick", env="pong", agent="reinforce").environments == 4
    assert RLConfig.from_preset("quick", agent="a2c").environments == 8 and RLConfig.from_preset(
        "quick", agent="dqn"
    ).hidden == (256, 256)
    env = environments.make("cartpole-tf", 2)
    agent = build_model(RLConfig.from_preset("quick", agent="reinforce", hidden_units=8), env)
    assert [w.shape for w in agent.policy.weights][0] == (4, 8)
    assert isinstance(agent.greedy_actions(tf.zeros((3, 4))), tf.Tensor)


@pytest.mark.parametrize("agent", ["dqn", "reinforce", "a2c"])
def test_under_mixed_float16_updates_move_the_weights_as_float32s_do(agent):
    # Keras wraps the optimizer in dynamic loss scaling under mixed_float16: the first steps overflow and are
    # skipped while the scale falls from 2**15. An agent that did not scale its loss would have every
    # gradient divided by the scale and barely move.
    from mit_dl.training.precision import precision_policy

    def weight_change(precision):
        tf.keras.utils.set_random_seed(0)
        with precision_policy(precision):
            config = RLConfig.from_preset(
                "quick",
                agent=agent,
                env="cartpole-tf",
                learning_starts=64,
                collect_steps=64,
                gradient_steps=4,
                max_episode_steps=100,
                hidden_units=16,
            )
            trained = build_model(config, environments.make("cartpole-tf", config.environments, seed=0))
            before = [w.numpy().copy() for w in trained.acting_network.trainable_weights]
            step = tf.function(trained.train_step)
            for _ in range(8):
                logs = step(None)
            after = [w.numpy() for w in trained.acting_network.trainable_weights]
        assert np.isfinite(float(logs["loss"])), (agent, precision)
        return np.concatenate([(a - b).ravel() for a, b in zip(after, before)])

    full, mixed = weight_change("float32"), weight_change("mixed_float16")
    ratio = np.linalg.norm(mixed) / np.linalg.norm(full)
    assert 0.75 < ratio < 1.33, (agent, ratio)  # without the loss scaling: DQN 0.43, REINFORCE 0.12


def test_play_refuses_a_video_that_is_not_a_gif_before_playing(tmp_path):
    from support import mit_dl_in_process

    refused = mit_dl_in_process("rl", "play", "--model", tmp_path / "no-policy", "--video", tmp_path / "out.mp4")
    assert refused.returncode == 2 and refused.stdout == ""
    assert refused.stderr.splitlines() == [
        f"mit-dl: error: --video must end in .gif (the episode is written as an animated GIF), received "
        f"'{tmp_path / 'out.mp4'}'."
    ]
    with pytest.raises(ConfigError, match=r"video must end in \.gif"):
        evaluate.evaluate(lambda observations: None, "cartpole", episodes=1, video="episode.webm")
