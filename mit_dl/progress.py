"""Progress for anything a person waits on: a live bar on a terminal, a plain line every few seconds otherwise.

On a terminal the Trainer (and side work that uses it: the generative lab's
feature classifier, the DB-VAE, the uncertainty wrappers) shows Keras'
progress bar within every epoch: steps, rate, ETA and the losses. When the
output is a file or a CI log a bar would be noise, so one plain line is
written at most every `LINE_SECONDS` instead::

      step 300/938 (32%), 41.7 steps/s, about 15 s left: loss 0.4312, accuracy 0.8810

so no stretch of more than a few seconds passes without a word, and the
log stays readable. `set_quiet` (the command line's ``mit-dl --quiet``, or
``MIT_DL_QUIET=1``) turns both off; the one line per epoch and the results
are still printed.

Examples:
    >>> ticker = Ticker(total=4, label="judging", every=0.0, say=print)
    >>> ticker.update(2, {"valid": 1.0})
      judging 2/4 (50%): valid 1
"""

import os
import sys
import time

LINE_SECONDS = 5.0
_QUIET_VARIABLE = "MIT_DL_QUIET"


def set_quiet(quiet=True):
    """Turn the progress bars and lines of this process (and the processes it starts) off or on.

    Args:
        quiet: ``True`` for no progress output.
    """
    os.environ[_QUIET_VARIABLE] = "1" if quiet else "0"


def quiet():
    """Whether progress output is off (`set_quiet` or ``MIT_DL_QUIET=1``).

    Returns:
        A bool.
    """
    return os.environ.get(_QUIET_VARIABLE, "0") not in ("", "0")


def interactive():
    """Whether progress is drawn as a live bar.

    Returns:
        True when standard output is a terminal and progress is on.
    """
    return not quiet() and sys.stdout.isatty()


class Ticker:
    """A line ``label done/total (pct), rate, about N s left: logs`` at most every ``every`` seconds.

    Args:
        total: the count at the end (steps, songs, images).
        label: what is counted (``"step"``, ``"judging"``).
        every: the least seconds between two lines (default `LINE_SECONDS`).
        say: where lines go (``print`` by default); nothing is said while `quiet`.
    """

    def __init__(self, total, label="step", every=None, say=None):
        self.total = int(total)
        self.label = label
        self.every = LINE_SECONDS if every is None else every
        self.say = say or (lambda line: print(line, flush=True))
        self.started = self.last = time.perf_counter()
        self.first_done = None

    def update(self, done, logs=None):
        """Say where the work is, unless a line was said less than ``every`` seconds ago.

        Args:
            done: the count reached.
            logs: ``{name: value}`` shown after the counts.
        """
        now = time.perf_counter()
        if self.first_done is None:  # the first update includes start-up (tracing): rates count from it
            self.first_done, self.started, self.last = done, now, now
            if self.every > 0:
                return
        if quiet() or now - self.last < self.every or done >= self.total:
            return
        self.last = now
        rate = (done - self.first_done) / max(now - self.started, 1e-9)
        line = f"  {self.label} {done}/{self.total} ({100 * done / self.total:.0f}%)"
        if rate > 0:
            line += f", {rate:.1f}/s, about {(self.total - done) / rate:.0f} s left"
        if logs:
            line += ": " + ", ".join(f"{k} {format_value(v)}" for k, v in logs.items())
        self.say(line)


def format_value(value):
    """A logged number as a person reads it: whole counts without decimals, others with 4 significant places.

    Args:
        value: a number.

    Returns:
        The text (``"44"``, ``"2234.5"``, ``"0.4312"``).

    Examples:
        >>> format_value(44.0), format_value(2234.5), format_value(0.431234), format_value(1.5e-05)
        ('44', '2234.5', '0.4312', '1.5e-05')
    """
    value = float(value)
    if value.is_integer() and abs(value) < 1e15:
        return str(int(value))
    if abs(value) >= 1000:
        return f"{value:.1f}"
    return f"{value:.4g}" if abs(value) < 1e-3 else f"{value:.4f}"
