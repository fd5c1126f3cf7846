"""Atari Pong as the course's policy-gradient lab sees it: 80x80 binary frame differences, three actions.

The Arcade Learning Environment (``ale-py``, the ``atari`` extra; its wheel
ships the Pong ROM, so nothing is downloaded) renders 210x160 RGB frames.
The course's preprocessing keeps what moves:

- crop the score bar and the bottom border (rows 35-194), keep every second
  row and column (80x80) and the red channel;
- erase the two background colours (red values 144 and 109): paddles and
  ball become 1, everything else 0;
- the observation is the difference between this frame and the previous
  one (zeros after a reset), so a single observation shows the ball's
  direction.

Actions: 0 stays (``NOOP``), 1 moves the paddle up (``RIGHT`` in ALE's
names), 2 moves it down (``LEFT``). ``ALE/Pong-v5``'s defaults stay: 4
frames per step and sticky actions with probability 0.25, so the game is
stochastic even for a fixed policy. An episode ends when a side reaches 21
points; each point scores +1 or -1.
"""

import numpy as np

try:
    import gymnasium
except ImportError:  # pragma: no cover - gymnasium is a dependency
    gymnasium = None

FRAME_SIZE = 80
BACKGROUND = (144, 109)
ACTIONS = (0, 2, 3)  # NOOP, up, down in ALE's minimal Pong action set


def preprocess(frame):
    """One frame -> the paddles and the ball on 80x80.

    Args:
        frame: ``[210, 160, 3]`` uint8, as ALE renders it.

    Returns:
        ``[80, 80, 1]`` float32 in {0, 1}.

    Examples:
        >>> frame = np.full((210, 160, 3), 144, np.uint8)
        >>> frame[101, 80] = 236  # a ball pixel on a kept row (35, 37, ...) and column (0, 2, ...)
        >>> image = preprocess(frame)
        >>> image.shape, float(image.sum()), float(image[(101 - 35) // 2, 40, 0])
        ((80, 80, 1), 1.0, 1.0)
    """
    red = np.asarray(frame)[35:195:2, ::2, 0]
    moving = ~np.isin(red, BACKGROUND)
    return moving.astype(np.float32)[..., None]


def _wrapper_base():
    if gymnasium is None:  # pragma: no cover
        raise ImportError("gymnasium is missing: reinstall mit_dl")
    return gymnasium.Wrapper


class FrameDifference(_wrapper_base()):
    """A gymnasium wrapper: `preprocess`ed frames, differenced, and the three actions above.

    Args:
        env: an ``ALE/Pong-v5`` environment.
    """

    def __init__(self, env):
        super().__init__(env)
        self.observation_space = gymnasium.spaces.Box(-1.0, 1.0, (FRAME_SIZE, FRAME_SIZE, 1), np.float32)
        self.action_space = gymnasium.spaces.Discrete(len(ACTIONS))
        self._previous = None

    def reset(self, **kwargs):
        """Reset the game.

        Args:
            **kwargs: gymnasium's (``seed``, ``options``).

        Returns:
            ``(zeros [80, 80, 1], info)``: no previous frame to difference with.
        """
        frame, info = self.env.reset(**kwargs)
        self._previous = preprocess(frame)
        return np.zeros_like(self._previous), info

    def step(self, action):
        """Play one of the three actions (ALE repeats it for 4 frames).

        Args:
            action: 0 stay, 1 up, 2 down.

        Returns:
            ``(frame difference, reward, terminated, truncated, info)``.
        """
        frame, reward, terminated, truncated, info = self.env.step(ACTIONS[int(action)])
        current = preprocess(frame)
        difference = current - self._previous
        self._previous = current
        return difference, float(reward), terminated, truncated, info


def make_pong(render_mode=None):
    """``ALE/Pong-v5`` behind `FrameDifference`.

    Args:
        render_mode: gymnasium's (``"rgb_array"`` to film an episode).

    Returns:
        The wrapped gymnasium environment.

    Raises:
        ConfigError: ``ale-py`` is not installed (the ``atari`` extra).
    """
    gymnasium.register_envs(atari_emulator())
    return FrameDifference(gymnasium.make("ALE/Pong-v5", render_mode=render_mode))


def atari_emulator():
    """The ``ale_py`` module, or one sentence saying how to install it (checked before a run starts).

    Returns:
        The module.

    Raises:
        ConfigError: ``ale-py`` is not installed (the ``atari`` extra).
    """
    from mit_dl.errors import ConfigError

    try:
        import ale_py
    except ImportError:
        raise ConfigError(
            "env", "'pong' needs the Atari emulator: install the atari extra (`pip install -e \".[atari]\"`)"
        ) from None
    return ale_py
