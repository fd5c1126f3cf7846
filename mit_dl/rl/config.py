"""Lecture 6 lab settings: which agent, in which environment, with which hyperparameters and budget.

One `RLConfig` describes every run of the lab:

- ``dqn``: deep Q-network with replay and a target network
  (`mit_dl.rl.dqn`); its defaults follow the RL Baselines3 Zoo's tuned
  CartPole-v1 recipe (256-256 network, Adam 2.3e-3, batches of 64 from a
  100,000-transition ring, 256 environment steps then 128 updates per
  iteration, the target network refreshed every 128 updates, epsilon 1 ->
  0.04 over the first 8,000 steps);
- ``reinforce``: the course's policy gradient over batches of whole
  episodes (`mit_dl.rl.reinforce`), 8 environments, Adam 1e-2 on CartPole;
- ``a2c``: synchronous advantage actor-critic (`mit_dl.rl.actor_critic`), 8
  environments, 5-step returns (the Zoo's shape), Adam 3e-3, entropy weight
  0.01: of the settings tried on CartPole (docs/labs/rl.md), the one that
  solved it on all three seeds within 150,000 steps.

Environments: ``cartpole`` (gymnasium's CartPole-v1), ``cartpole-tf`` (the
same dynamics in TensorFlow, `mit_dl.rl.cartpole`) and ``pong`` (Atari Pong,
the ``atari`` extra). Whatever it trains on, a CartPole agent is evaluated
on gymnasium's environment: 100 episodes of the greedy policy from fixed
seeds (`mit_dl.rl.evaluate`); ``solved`` is a mean return of 475.

Presets: ``quick`` (CartPole: a budget of 150,000 environment steps, the
issue's target, stopping when solved; Pong: 500,000 steps, about 15 minutes
of a 2-core CPU) and ``full``
(CartPole: 500,000 steps; Pong: 5 million frames, written for a GPU).

Examples:
    >>> RLConfig.from_preset("quick", agent="dqn").learning_rate_value
    0.0023
    >>> RLConfig(gamma=1.5)
    Traceback (most recent call last):
    ...
    mit_dl.errors.ConfigError: gamma must be a number in [0, 1], received 1.5.
"""

import dataclasses
from typing import Optional

from mit_dl.config import RunConfig, at_least, option, positive
from mit_dl.errors import ConfigError

AGENTS = ("dqn", "reinforce", "a2c")
ENVIRONMENTS = ("cartpole", "cartpole-tf", "pong")
# Defaults that depend on the agent (and, for Pong, on the environment).
LEARNING_RATES = {"dqn": 2.3e-3, "reinforce": 1e-2, "a2c": 3e-3, "pong": 1e-3}
NUM_ENVS = {"dqn": 1, "reinforce": 8, "a2c": 8, "pong": 4}
HIDDEN_UNITS = {"dqn": 256, "reinforce": 64, "a2c": 64}
ENV_STEPS = {("quick", "cartpole"): 150_000, ("full", "cartpole"): 500_000, ("quick", "pong"): 500_000}
ENV_STEPS[("full", "pong")] = 1_250_000  # 5 million frames at 4 frames per step


def check_discount(gamma):
    """Raise a clear error unless ``0 <= gamma <= 1``.

    Args:
        gamma: the discount factor to check.
    """
    if isinstance(gamma, bool) or not isinstance(gamma, (int, float)) or not 0.0 <= gamma <= 1.0:
        raise ConfigError("gamma", f"must be a number in [0, 1], received {gamma!r}")


# Fields only one agent reads: a resume of another agent's run does not compare them.
AGENT_FIELDS = {
    "dqn": (
        "replay_capacity",
        "batch_size",
        "learning_starts",
        "collect_steps",
        "gradient_steps",
        "target_update_every",
        "polyak",
        "exploration_steps",
        "epsilon_end",
        "double",
    ),
    "reinforce": ("normalise_returns", "value_baseline"),
    "a2c": ("rollout_steps", "entropy_weight", "value_weight"),
}


@dataclasses.dataclass(frozen=True)
class RLConfig(RunConfig):
    """One agent's run: agent, environment, hyperparameters, budget and evaluation."""

    PRESETS = {"quick": {}, "full": {}}
    # What each preset is for, as `mit-dl <lab> train --help` shows it.
    PRESET_HELP = {
        "quick": "CartPole: up to 150,000 environment steps, stopping when solved; Pong: 500,000 steps "
        "(about 15 minutes)",
        "full": "CartPole: 500,000 steps; Pong: 1.25 million steps (5 million frames; a GPU's hours)",
    }

    preset: str = option("quick", "the preset the other values came from (a label)", resume="free")
    agent: str = option("dqn", "the agent: dqn, reinforce or a2c", choices=AGENTS)
    env: str = option(
        "cartpole",
        "cartpole (gymnasium's CartPole-v1), cartpole-tf (its dynamics in TensorFlow, compiled rollouts) "
        "or pong (Atari Pong; the atari extra)",
        choices=ENVIRONMENTS,
    )
    env_steps: Optional[int] = option(
        None,
        "environment steps to train for (default: quick 150,000 on CartPole, 500,000 on Pong; full 500,000 and "
        "1,250,000); a resumed run may extend them",
        resume="free",
    )
    num_envs: Optional[int] = option(None, "environments stepped together (default: dqn 1, reinforce 8, a2c 8, Pong 4)")
    gamma: float = option(0.99, "discount factor, gamma, in [0, 1]")
    learning_rate: Optional[float] = option(
        None, "Adam's learning rate (default: dqn 2.3e-3, reinforce 1e-2, a2c 3e-3, Pong 1e-3)"
    )
    hidden_units: Optional[int] = option(
        None, "width of each of the two hidden layers (CartPole; default dqn 256, else 64)"
    )
    # DQN
    replay_capacity: int = option(100_000, "dqn: transitions the replay ring keeps")
    batch_size: int = option(64, "dqn: replayed transitions per update")
    learning_starts: int = option(1_000, "dqn: transitions stored before the first update")
    collect_steps: int = option(256, "dqn: environment steps (per environment) per iteration")
    gradient_steps: int = option(128, "dqn: updates per iteration")
    target_update_every: int = option(128, "dqn: updates between copies into the target network")
    polyak: float = option(0.0, "dqn: soft target updates at this rate instead of copies (0: copies)")
    exploration_steps: int = option(8_000, "dqn: environment steps over which epsilon falls to epsilon_end")
    epsilon_end: float = option(0.04, "dqn: the final exploration rate")
    double: bool = option(False, "dqn: Double DQN targets")
    # Policy gradients
    normalise_returns: bool = option(True, "reinforce: normalise each episode batch's returns")
    value_baseline: bool = option(False, "reinforce: subtract a learned value baseline")
    max_episode_steps: Optional[int] = option(None, "reinforce: the longest episode (default: 500, Pong 10,000)")
    rollout_steps: int = option(5, "a2c: steps per environment per update (n-step returns)")
    entropy_weight: float = option(0.01, "a2c: weight of the entropy bonus")
    value_weight: float = option(0.5, "a2c: weight of the critic's loss")
    # Evaluation and logging
    evaluation_every: int = option(
        10_000, "environment steps between greedy evaluations (100 episodes on gymnasium)", resume="free"
    )
    evaluation_episodes: int = option(100, "episodes per evaluation", resume="free")
    stop_when_solved: bool = option(
        True, "stop once an evaluation reaches a mean return of 475 (CartPole)", resume="free"
    )

    def __post_init__(self):
        super().__post_init__()
        check_discount(self.gamma)
        positive(self, "batch_size", "collect_steps", "gradient_steps", "target_update_every", "rollout_steps")
        positive(self, "evaluation_every", "evaluation_episodes", "exploration_steps")
        positive(self, "env_steps", "num_envs", "learning_rate", "hidden_units", "max_episode_steps", allow_none=True)
        at_least(self, "learning_starts", 0)
        at_least(self, "entropy_weight", 0)
        at_least(self, "value_weight", 0)
        if self.replay_capacity < self.batch_size:
            raise ConfigError(
                "replay_capacity",
                f"must hold at least one batch ({self.batch_size} transitions), received {self.replay_capacity}",
            )
        if not 0.0 <= self.polyak < 1.0:
            raise ConfigError("polyak", f"must be in [0, 1), received {self.polyak!r}")
        if self.distribute != "none":
            raise ConfigError(
                "distribute",
                "must be none: an agent steps its environments inside its training step, on one device",
            )
        if not 0.0 <= self.epsilon_end <= 1.0:
            raise ConfigError("epsilon_end", f"must be in [0, 1], received {self.epsilon_end!r}")

    def unused_fields(self):
        """The other agents' fields (a REINFORCE run has no replay buffer).

        Returns:
            The names of the fields this config's ``agent`` does not read.
        """
        return tuple(name for agent, names in AGENT_FIELDS.items() if agent != self.agent for name in names)

    @property
    def is_cartpole(self):
        """True for both CartPoles."""
        return self.env.startswith("cartpole")

    @property
    def environments(self):
        """``num_envs`` or the agent's (Pong's) default."""
        if self.num_envs is not None:
            return self.num_envs
        return NUM_ENVS["pong"] if self.env == "pong" and self.agent != "dqn" else NUM_ENVS[self.agent]

    @property
    def learning_rate_value(self):
        """``learning_rate`` or the agent's (Pong's) default."""
        if self.learning_rate is not None:
            return self.learning_rate
        return LEARNING_RATES["pong" if self.env == "pong" else self.agent]

    @property
    def hidden(self):
        """The hidden layer widths of the CartPole networks."""
        units = self.hidden_units or HIDDEN_UNITS[self.agent]
        return (units, units)

    @property
    def episode_limit(self):
        """``max_episode_steps`` or the environment's default."""
        return self.max_episode_steps or (10_000 if self.env == "pong" else 500)

    @property
    def total_env_steps(self):
        """``env_steps`` or the preset's budget for the environment."""
        if self.env_steps is not None:
            return self.env_steps
        return ENV_STEPS[
            (self.preset if self.preset in ("quick", "full") else "quick", "pong" if self.env == "pong" else "cartpole")
        ]
