"""What every lab checker shares: the result type, the report file, learner-code calls.

A checker runs the learner's code on deterministic inputs, compares with
the reference math and returns a `CheckResult`: a pass, or a failure that
says what was expected, what was received and the likely mistake. A
checker never raises because of the learner's code (a `# TODO` still in
place is reported as "not implemented yet"), so a notebook keeps running.

When ``$MIT_DL_LABS_REPORT`` names a file (``mit-dl labs check`` sets it
for the notebook's kernel), each result is also appended to it as one JSON
line.
"""

import dataclasses
import functools
import json
import os
import re
import traceback

import numpy as np

REPORT_VARIABLE = "MIT_DL_LABS_REPORT"
NOT_IMPLEMENTED = "Not implemented yet"  # how every exercise's TODO line starts its error
QUICK_VARIABLE = "MIT_DL_LABS_QUICK"


def quick_mode(default=True):
    """``True`` for the notebooks' quick settings (minutes on a laptop CPU), ``False`` for the course's.

    ``$MIT_DL_LABS_QUICK`` (``1``/``0``) overrides ``default``; ``mit-dl labs
    check`` and the tests set it to ``1``.

    Args:
        default: the answer when the variable is not set.

    Returns:
        Whether to run in quick mode.
    """
    value = os.environ.get(QUICK_VARIABLE)
    if value is None:
        return default
    return value.strip().lower() not in ("0", "false", "no", "")


@dataclasses.dataclass(frozen=True)
class CheckResult:
    """The outcome of one checker; shown as one line (or a short paragraph) in a notebook."""

    check: str
    passed: bool
    message: str

    def __str__(self):
        mark = "PASSED" if self.passed else "NOT YET"
        return f"[{mark}] {self.check}: {self.message}"

    __repr__ = __str__

    def __bool__(self):
        return self.passed


class Mistake(Exception):
    """Raised inside a checker to fail it with a learner-facing explanation."""


class NotImplementedYet(Exception):
    """The learner's code still raises the exercise's ``NotImplementedError``."""


def checker(function):
    """Turn ``function(*args)`` (which raises `Mistake` on a wrong answer) into a checker returning `CheckResult`.

    The result is also printed (``[PASSED]`` / ``[NOT YET]``) and recorded for `mit-dl labs check`.

    Args:
        function: the check; its docstring's first line is the message of a pass.

    Returns:
        The checker.
    """

    @functools.wraps(function)
    def run(*args, **kwargs):
        name = function.__name__
        try:
            function(*args, **kwargs)
        except Mistake as mistake:
            result = CheckResult(name, False, str(mistake))
        except NotImplementedYet as missing:
            result = CheckResult(name, False, str(missing))
        else:
            result = CheckResult(name, True, function.__doc__.strip().splitlines()[0])
        _record(result)
        return result

    return run


def call_learner(description, function, *args, on_error_hint="", **kwargs):
    """Call the learner's ``function``; turn its exceptions into a `Mistake` / `NotImplementedYet`.

    Args:
        description: names the call in messages, e.g. ``"OurDenseLayer(3)(x)"``.
        function: the learner's function.
        *args: its positional arguments.
        on_error_hint: added to the message when the call raises (the usual cause).
        **kwargs: its keyword arguments.

    Returns:
        What the learner's function returned.
    """
    try:
        return function(*args, **kwargs)
    except NotImplementedError as missing:
        hint = todo_hint(missing) or _error_message(missing)
        raise NotImplementedYet(f"{description} is not implemented yet ({hint}).") from None
    except Mistake:
        raise
    except Exception as error:  # the learner's bug, reported instead of raised
        where = _learner_frame(error)
        hint = f" Likely mistake: {on_error_hint}" if on_error_hint else ""
        raise Mistake(f"{description} raised {type(error).__name__}: {_error_message(error)}{where}.{hint}") from None


def values(tensor, description):
    """A learner's result as a float64 NumPy array.

    Args:
        tensor: what the learner's code returned.
        description: names it in messages.

    Returns:
        The array.

    Raises:
        Mistake: the result is not numeric.
    """
    try:
        return np.asarray(tensor, dtype=np.float64)
    except (TypeError, ValueError):
        raise Mistake(
            f"{description} should be a tensor or array of numbers, received {type(tensor).__name__}."
        ) from None


def matches(received, expected, rtol=1e-4, atol=1e-5):
    """Whether two results have the same shape and values (to the tolerances).

    Args:
        received: the learner's result.
        expected: the reference.
        rtol: relative tolerance.
        atol: absolute tolerance.

    Returns:
        True when they match.
    """
    received, expected = np.asarray(received, np.float64), np.asarray(expected, np.float64)
    return received.shape == expected.shape and np.allclose(received, expected, rtol=rtol, atol=atol)


def expect_shape(received, shape, description, hint=""):
    """Raise a `Mistake` unless ``received`` has ``shape``.

    Args:
        received: the learner's result.
        shape: the expected shape.
        description: names the result in the message.
        hint: added to the message.
    """
    if tuple(np.shape(received)) != tuple(shape):
        raise Mistake(f"{description} should have shape {tuple(shape)}, received {tuple(np.shape(received))}.{hint}")


def explain_mismatch(received, expected, description, wrong_answers=()):
    """Raise a `Mistake` unless ``received`` equals ``expected``, naming the likely mistake.

    Args:
        received: the learner's result.
        expected: the reference.
        description: names the result in the message.
        wrong_answers: ``(values a typical mistake produces, its explanation)``
            pairs; the first one ``received`` matches names the likely mistake.
    """
    if matches(received, expected):
        return
    summary = f"{description}: expected {_short(expected)}, received {_short(received)}."
    for wrong, explanation in wrong_answers:
        if matches(received, wrong):
            raise Mistake(f"{summary} Likely mistake: {explanation}")
    raise Mistake(summary)


def _short(array):
    array = np.asarray(array, np.float64)
    text = np.array2string(array.ravel()[:6], precision=4, separator=", ")
    more = f" ... ({array.size} values)" if array.size > 6 else ""
    return f"{text}{more} with shape {array.shape}" if array.ndim else text


def todo_hint(error):
    """The TODO's hint in an exercise's ``NotImplementedError`` (Keras or tf.function may wrap it).

    Args:
        error: the exception raised by the learner's code.

    Returns:
        The hint, or ``None`` when the error is not an unfinished exercise's.
    """
    found = re.search(NOT_IMPLEMENTED + r": ([^'\"\n]*)", str(error))
    if found is None:
        return None
    return found.group(1).replace(" Replace this line with your code.", "").strip().rstrip(".")


def _error_message(error, limit=300):
    """The informative line of an error (Keras wraps errors from ``call`` in a generic first line)."""
    text = re.sub(r"\x1b\[[0-9;]*m", "", str(error))
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    lines = [line for line in lines if not line.startswith("Exception encountered when calling")] or [""]
    line = lines[0].rstrip(".")
    return line if len(line) <= limit else line[:limit] + "..."


def _learner_frame(error):
    """`` (in <cell/file> line N)`` for the innermost frame outside TensorFlow, Keras and mit_dl."""
    frames = traceback.extract_tb(error.__traceback__)
    for frame in reversed(frames):
        path = frame.filename.replace("\\", "/")
        if not any(part in path for part in ("/tensorflow/", "/keras/", "/mit_dl/", "/numpy/")):
            return f" (at line {frame.lineno}: {frame.line.strip()})" if frame.line else ""
    return ""


def _record(result):
    path = os.environ.get(REPORT_VARIABLE)
    if path:
        with open(path, "a", encoding="utf-8") as report:
            report.write(json.dumps(dataclasses.asdict(result)) + "\n")
