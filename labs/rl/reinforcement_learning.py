# %% [markdown]
# # Lecture 6 lab: deep reinforcement learning — policy gradients and deep Q-networks on CartPole
#
# MIT 6.S191 with the `mit_dl` companion package. An agent sees an observation, picks an action,
# receives a reward, and learns to pick actions that lead to high **returns** (discounted sums of
# future rewards). Lecture 6 gives two families of deep RL:
#
# - **value learning**: a network `Q(s, a)` estimates the return of each action, trained towards
#   `r + γ max_a' Q(s', a')` (the deep Q-network, DQN), and the agent acts greedily on it;
# - **policy learning**: a network outputs `π(a|s)` directly and is trained by the policy gradient,
#   raising the probability of actions followed by high returns (REINFORCE).
#
# You will write the discounted returns, the policy-gradient loss and the Q-learning loss, check
# each, train agents with your losses on CartPole (balance a pole on a cart: +1 per step, at most
# 500), evaluate them on gymnasium's environment from fixed seeds and watch an episode.
#
# Training runs on `mit_dl.rl.cartpole.CartPole`, gymnasium's CartPole-v1 equations written in
# TensorFlow and batched, so a whole rollout is one compiled graph; evaluation always plays
# gymnasium's own environment. Cells marked `# TODO` are yours; a checker from `mit_dl.labs.rl`
# follows each exercise. `QUICK = True` trains each agent on a small budget (under a minute each
# on a laptop CPU: it shows learning, it does not solve CartPole); `QUICK = False` uses the
# `quick` preset of `mit-dl rl train` (up to 150,000 steps, stopping when solved).

# %%
from mit_dl.environment import quiet_tensorflow_startup

quiet_tensorflow_startup()  # TensorFlow without its C++ start-up lines (errors still show)

import pathlib

import gymnasium
import keras
import numpy as np
import tensorflow as tf
from IPython.display import Image, display
from PIL import Image as PILImage

from mit_dl import labs, plots
from mit_dl.labs import rl as checks
from mit_dl.rl import RLConfig, cartpole, evaluate, train
from mit_dl.rl.dqn import DQNAgent
from mit_dl.rl.reinforce import ReinforceAgent

QUICK = labs.quick_mode()
OUT = pathlib.Path("rl_outputs")
OUT.mkdir(exist_ok=True)
EPISODES = 20 if QUICK else 100  # evaluation episodes

# %% [markdown]
# ## 6.1 The environment
#
# An observation is four numbers: the cart's position and velocity, the pole's angle and angular
# velocity. Action 0 pushes the cart left, 1 right. The episode ends when the pole leans past 12°
# or the cart leaves the track, or after 500 steps. A random policy keeps the pole up for about
# 22 steps.

# %%
env = gymnasium.make("CartPole-v1", render_mode="rgb_array")
observation, _ = env.reset(seed=0)
print("observation:", observation)
frames = [env.render()]
random_returns = []
rng = np.random.default_rng(0)
for episode in range(20):
    observation, _ = env.reset(seed=episode)
    total, done = 0.0, False
    while not done:
        observation, reward, terminated, truncated, _ = env.step(int(rng.integers(2)))
        total += reward
        done = terminated or truncated
    random_returns.append(total)
print(f"random policy: mean return {np.mean(random_returns):.1f} over 20 episodes")
PILImage.fromarray(frames[0]).save(OUT / "cartpole.png")
display(Image(str(OUT / "cartpole.png")))

# %% [markdown]
# ## 6.2 Discounted returns
#
# The return from step `t` is `R_t = r_t + γ r_{t+1} + γ² r_{t+2} + ... = r_t + γ R_{t+1}`: one loop
# from the **last** step back to the first computes all of them. The course's `discount_rewards`
# then normalises them (subtract the mean, divide by the standard deviation): about half the
# actions of an episode are pushed up and half down, and the scale does not grow with the length.
#
# **Exercise:** return the normalised discounted returns of one episode's rewards.


# %%
def discount_rewards(rewards, gamma=0.95):
    # TODO: R_t = r_t + gamma * R_{t+1}, computed from the last step back; then normalise (mean 0, std 1)
    ### BEGIN SOLUTION
    returns = np.zeros(len(rewards))
    running = 0.0
    for t in reversed(range(len(rewards))):
        running = rewards[t] + gamma * running
        returns[t] = running
    return (returns - returns.mean()) / (returns.std() + 1e-8)
    ### END SOLUTION


checks.check_discount_rewards(discount_rewards)

# %% [markdown]
# ## 6.3 The policy gradient
#
# The policy network gives logits; `π(a|s) = softmax(logits)`. The lecture's loss for the steps of an
# episode batch is the mean of `-log π(a_t|s_t) R_t`: its gradient raises the log-probability of
# actions followed by high (normalised) returns and lowers the others. `log π(a|s)` of the action
# taken is minus the sparse cross-entropy of the logits.
#
# **Exercise:** return the mean loss over the steps (`returns` are already normalised).


# %%
def policy_gradient_loss(logits, actions, returns):
    # TODO: the mean over steps of -log pi(a|s) * R, with log pi from the logits
    ### BEGIN SOLUTION
    neg_log_prob = tf.nn.sparse_softmax_cross_entropy_with_logits(labels=actions, logits=logits)
    return tf.reduce_mean(neg_log_prob * returns)
    ### END SOLUTION


checks.check_policy_gradient_loss(policy_gradient_loss)

# %% [markdown]
# ## 6.4 Train REINFORCE with your loss
#
# `ReinforceAgent` plays one episode in each of 8 TensorFlow CartPoles, computes the returns,
# normalises them and takes one gradient step with `loss_fn=` — yours. The shared `Trainer` runs the
# iterations compiled; every `evaluation_every` environment steps the greedy policy plays
# gymnasium's CartPole from fixed seeds.

# %%
reinforce_config = RLConfig.from_preset(
    "quick",
    agent="reinforce",
    env="cartpole-tf",
    env_steps=20_000 if QUICK else None,
    evaluation_every=10_000,
    evaluation_episodes=EPISODES,
)
keras.utils.set_random_seed(0)
agent = ReinforceAgent(cartpole.CartPole(8, seed=0), seed=0, loss_fn=policy_gradient_loss)
agent.compile(optimizer=keras.optimizers.Adam(reinforce_config.learning_rate_value))
history, evaluation = train.fit(agent, reinforce_config)
for record in evaluation.records:
    print(f"{record['env_steps']:7d} env steps: greedy mean return {record['mean_return']:.1f}")

# %% [markdown]
# Watch the greedy policy balance the pole (gymnasium renders the frames; the GIF loops).

# %%
act = tf.function(agent.greedy_actions, reduce_retracing=True)
film = evaluate.evaluate(lambda o: act(o).numpy(), "cartpole", 1, video=OUT / "reinforce.gif")
print(f"this episode's return: {film['mean_return']:.0f}")
display(Image(str(OUT / "reinforce.gif")))

# %% [markdown]
# ## 6.5 The Q-learning loss
#
# A DQN regresses `Q(s, a)` of the action taken onto `y = r + γ (1 - terminal) max_a' Q_target(s', a')`:
#
# - after a **terminal** state there is no future: `y = r` there (a state cut by the 500-step limit
#   is not terminal);
# - `Q_target` is a copy of the network refreshed now and then; `y` is a constant of the update —
#   wrap it in `tf.stop_gradient`, or the loss also trains the target network and chases itself.
#
# **Exercise:** return the mean squared error over the batch.


# %%
def q_learning_loss(q_values, next_q_values, actions, rewards, terminals, gamma):
    # TODO: y = r + gamma * (1 - terminal) * max over a' of next_q_values, without gradient; mean of (y - Q(s, a))^2
    ### BEGIN SOLUTION
    targets = tf.stop_gradient(rewards + gamma * (1.0 - terminals) * tf.reduce_max(next_q_values, axis=1))
    taken = tf.gather(q_values, actions, batch_dims=1)
    return tf.reduce_mean(tf.square(targets - taken))
    ### END SOLUTION


checks.check_q_learning_loss(q_learning_loss)

# %% [markdown]
# ## 6.6 Train a DQN with your loss
#
# `DQNAgent` acts ε-greedily, stores every transition in a replay ring held in TensorFlow variables,
# and after each 256 environment steps takes 128 gradient steps on replayed batches with your loss;
# the target network is refreshed between them. (The library's default is the Huber loss, which
# caps the gradient of large errors.)

# %%
dqn_config = RLConfig.from_preset(
    "quick",
    agent="dqn",
    env="cartpole-tf",
    env_steps=12_800 if QUICK else None,
    evaluation_every=6_400 if QUICK else 10_000,
    evaluation_episodes=EPISODES,
)
keras.utils.set_random_seed(0)
dqn = DQNAgent(
    cartpole.CartPole(1, seed=0),
    hidden=(64, 64) if QUICK else dqn_config.hidden,
    exploration_steps=dqn_config.exploration_steps,
    epsilon_end=dqn_config.epsilon_end,
    collect_steps=dqn_config.collect_steps,
    gradient_steps=64 if QUICK else dqn_config.gradient_steps,
    target_update_every=64 if QUICK else dqn_config.target_update_every,
    seed=0,
    loss_fn=q_learning_loss,
)
dqn.compile(optimizer=keras.optimizers.Adam(dqn_config.learning_rate_value))
dqn_history, dqn_evaluation = train.fit(dqn, dqn_config)
for record in dqn_evaluation.records:
    print(f"{record['env_steps']:7d} env steps: greedy mean return {record['mean_return']:.1f}")
curves = {
    "REINFORCE": ([r["env_steps"] for r in evaluation.records], [r["mean_return"] for r in evaluation.records]),
    "DQN": ([r["env_steps"] for r in dqn_evaluation.records], [r["mean_return"] for r in dqn_evaluation.records]),
}
path = plots.curves(curves, OUT / "returns.png", "greedy evaluations on gymnasium", "environment steps", "mean return")
display(Image(str(path)))

# %% [markdown]
# ## 6.7 Export the policy and play it without `mit_dl`
#
# The export has an `act(observations) -> actions` signature (and `q_values` for a DQN): any
# TensorFlow process can play gymnasium with it.

# %%
export = train.export_policy(dqn, dqn_config, OUT / "dqn_policy")
loaded = tf.saved_model.load(str(export))
observation, _ = gymnasium.make("CartPole-v1").reset(seed=0)
print("Q-values:", loaded.q_values(tf.constant(observation[None]))["q_values"].numpy())
print("action:", int(loaded.act(tf.constant(observation[None]))["actions"][0]))

# %% [markdown]
# ## Going further
#
# - `mit-dl rl train --agent dqn` (or `reinforce`, `a2c`) trains the `quick` preset on gymnasium's
#   CartPole until it is solved (a mean greedy return of 475 over 100 episodes) or 150,000 steps;
#   `mit-dl rl play --model runs/.../policy --video episode.gif` plays and films the export.
# - Double DQN (`--double`), soft target updates (`--polyak 0.005`), a learned baseline for
#   REINFORCE (`--value-baseline`), the entropy bonus of actor-critic (`--entropy-weight`).
# - Pong from pixels: `mit-dl rl train --agent reinforce --env pong` (the `atari` extra; hours on a
#   GPU to beat the computer).
