"""Lecture 6 lab: deep reinforcement learning — DQN, REINFORCE and actor-critic on CartPole, Pong by policy gradient.

- `config`: `RLConfig`, one run's settings, presets ``quick`` and ``full``;
- `cartpole`: gymnasium's CartPole-v1 dynamics in TensorFlow, batched,
  steppable inside ``tf.function``;
- `environments`: gymnasium's CartPole, the TensorFlow one and Pong behind
  one batched ``reset`` / ``step`` interface;
- `pong`: the course's Pong preprocessing (80x80 frame differences);
- `returns`: discounted returns (the course's ``discount_rewards``, batched
  rollouts with episode ends, bootstrapping), normalisation;
- `replay`: an experience replay ring in TensorFlow variables;
- `losses`: the Q-learning target and Huber loss, the policy gradient,
  the actor-critic terms;
- `networks`: the MLP and the course's Pong CNN;
- `episodes`: running returns and the last 100 episodes, in variables;
- `agent`, `dqn`, `reinforce`, `actor_critic`: the agents, each owning its
  iteration (collect experience, update);
- `model`: the agent a config names, compiled;
- `train`: train, evaluate as it learns, export;
- `evaluate`: greedy evaluation on gymnasium from fixed seeds; load, play and film an export.
"""

from mit_dl.rl.config import RLConfig

__all__ = ["RLConfig"]
