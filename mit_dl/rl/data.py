"""An agent's data is its experience: the environments it trains in and the gymnasium one it is judged in.

- `training_envs`: the config's batched environments (`mit_dl.rl.environments.make`);
- `gymnasium_env`: the real gymnasium environment a trained policy is evaluated and filmed in.
"""

from mit_dl.rl import environments


def training_envs(config):
    """The batched environments a config's agent trains in.

    Args:
        config: an `RLConfig` (its ``env``, ``environments`` and ``seed``).

    Returns:
        The environments (``reset`` / ``step`` over ``config.environments`` copies).
    """
    return environments.make(config.env, config.environments, seed=config.seed)


def gymnasium_env(env_name, render_mode=None):
    """The gymnasium environment a policy trained on ``env_name`` is evaluated and filmed in.

    Args:
        env_name: ``"cartpole"``, ``"cartpole-tf"`` or ``"pong"``.
        render_mode: gymnasium's (``"rgb_array"`` to film).

    Returns:
        A gymnasium environment (CartPole-v1, or Pong behind `mit_dl.rl.pong`'s preprocessing).
    """
    import gymnasium

    if env_name == "pong":
        from mit_dl.rl import pong

        return pong.make_pong(render_mode=render_mode)
    return gymnasium.make("CartPole-v1", render_mode=render_mode)
