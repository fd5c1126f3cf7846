"""The agent an `RLConfig` names, built on its environments and compiled with Adam, ready for the Trainer."""

import keras

from mit_dl.rl.actor_critic import ActorCriticAgent
from mit_dl.rl.dqn import DQNAgent
from mit_dl.rl.reinforce import ReinforceAgent


def build_model(config, env):
    """Build and compile the agent of ``config`` on ``env``.

    Args:
        config: an `RLConfig`.
        env: its environments (`mit_dl.rl.environments.make`).

    Returns:
        A compiled `DQNAgent`, `ReinforceAgent` or `ActorCriticAgent`.
    """
    common = {"gamma": config.gamma, "hidden": config.hidden, "seed": config.seed}
    if config.agent == "dqn":
        agent = DQNAgent(
            env,
            replay_capacity=config.replay_capacity,
            batch_size=config.batch_size,
            learning_starts=config.learning_starts,
            collect_steps=config.collect_steps,
            gradient_steps=config.gradient_steps,
            target_update_every=config.target_update_every,
            polyak=config.polyak,
            epsilon_end=config.epsilon_end,
            exploration_steps=config.exploration_steps,
            double=config.double,
            **common,
        )
    elif config.agent == "reinforce":
        agent = ReinforceAgent(
            env,
            max_episode_steps=config.episode_limit,
            normalise=config.normalise_returns,
            value_baseline=config.value_baseline,
            restart_at_rewards=config.env == "pong",  # the course's per-point returns
            **common,
        )
    else:
        agent = ActorCriticAgent(
            env,
            rollout_steps=config.rollout_steps,
            value_weight=config.value_weight,
            entropy_weight=config.entropy_weight,
            **common,
        )
    agent.compile(optimizer=keras.optimizers.Adam(config.learning_rate_value))
    return agent


def env_steps_per_iteration(config):
    """Environment steps of one iteration.

    Args:
        config: an `RLConfig`.

    Returns:
        Exact for dqn and a2c; for reinforce (whole episodes) the fewest possible.
    """
    n = config.environments
    if config.agent == "dqn":
        return n * config.collect_steps
    if config.agent == "a2c":
        return n * config.rollout_steps
    return n  # whole episodes of at least one step each
