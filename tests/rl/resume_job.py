"""A DQN job on the TensorFlow CartPole for the kill-and-resume test (run as a script).

usage: python resume_job.py RUN_DIR

4 environments, 24 iterations of 16 steps each and 32 updates, a checkpoint
and a 5-episode greedy evaluation every 4 iterations (256 environment
steps), through the lab's `train`. The final weights, replay buffer and
tracker go to RUN_DIR/state.npz.
"""

import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")

import numpy as np  # noqa: E402

from mit_dl.rl import RLConfig, environments, train  # noqa: E402
from mit_dl.rl.model import build_model  # noqa: E402
from mit_dl.training import Run, enable_determinism  # noqa: E402

CONFIG = RLConfig.from_preset(
    "quick",
    agent="dqn",
    env="cartpole-tf",
    num_envs=4,
    collect_steps=16,
    gradient_steps=32,
    batch_size=32,
    learning_starts=64,
    replay_capacity=1000,
    exploration_steps=800,
    hidden_units=32,
    env_steps=24 * 64,
    evaluation_every=256,
    evaluation_episodes=5,
    seed=3,
)


def main(run_dir):
    run = Run.start(run_dir, CONFIG, lab="rl", log=lambda *a: None)
    enable_determinism(CONFIG.seed)
    env = environments.make(CONFIG.env, CONFIG.environments, seed=CONFIG.seed)
    agent = build_model(CONFIG, env)
    train.fit(agent, CONFIG, run, log=lambda *a: None)
    state = [v.numpy() for v in agent.q_network.variables + agent.target_network.variables]
    state += [v.numpy() for v in agent.optimizer.variables]
    state += [agent.replay.observations.numpy(), agent.replay.rewards.numpy(), agent.tracker.recent.numpy()]
    state += [env.state.numpy()]
    np.savez(os.path.join(run_dir, "state.npz"), *state)


if __name__ == "__main__":
    main(sys.argv[1])
