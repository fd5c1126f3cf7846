"""The project's expected failures: each message says what went wrong and what to do.

Library code raises these for problems a user can fix (a bad setting, missing
or malformed data, a run directory started with other settings, an export of
the wrong kind). The `mit-dl` command prints them as one line and exits with
status 2; every other exception is a bug and keeps its traceback.

Each class also derives from the built-in type that callers caught before
(``ValueError``, ``FileNotFoundError``, ``RuntimeError``), so existing
``except ValueError`` code keeps working.

Examples:
    >>> from mit_dl.errors import ConfigError
    >>> str(ConfigError("songs", "must be a positive number, received 0"))
    'songs must be a positive number, received 0.'
"""


class MitDLError(Exception):
    """An expected failure with a one-sentence remedy (the base of every project error)."""


class ConfigError(MitDLError, ValueError):
    """A setting (a config field or a function parameter) has a value that cannot be used.

    Args:
        field: the parameter's name as the library spells it (``"songs"``);
            the command line shows it as its flag (``--songs``).
        problem: what is wrong, continuing the field's name
            (``"must be a positive number, received 0"``).
    """

    def __init__(self, field, problem):
        self.field = field
        self.problem = problem.rstrip(".")
        super().__init__(f"{field} {self.problem}.")


class DataError(MitDLError, ValueError):
    """Data that cannot be used: missing, empty, corrupt or of the wrong shape."""


class DataNotFound(MitDLError, FileNotFoundError):
    """No local copy of a dataset and no way to download it."""


class ExportError(MitDLError, FileNotFoundError):
    """A folder that is not an export, or an export of another kind than the one asked for."""


class RunMismatch(MitDLError, ValueError):
    """A run directory was started with other settings than the ones given now.

    Args:
        directory: the run directory.
        differences: ``(field, recorded value, value now)`` for each field that differs.
        describe: how a field is named in the message (the CLI shows its flag); default its name.
    """

    def __init__(self, directory, differences, describe=None):
        self.directory = directory
        self.differences = list(differences)
        describe = describe or (lambda field: field)
        changes = "; ".join(
            f"{describe(field)}: {_shown(then)} then, {_shown(now)} now" for field, then, now in self.differences
        )
        super().__init__(
            f"run directory {directory} was started with other settings ({changes}); repeat the original "
            "settings to resume it, or choose another run directory."
        )

    def with_names(self, describe):
        """The same error with each field named by ``describe``.

        Args:
            describe: ``describe(field) -> str``, e.g. the field's command-line flag.

        Returns:
            A new `RunMismatch`.
        """
        return RunMismatch(self.directory, self.differences, describe)


class RunDirectoryError(MitDLError, ValueError):
    """A folder that cannot hold this run: a file, or the run directory of another lab."""


class CorruptFile(MitDLError, ValueError):
    """A file of a run or an export that cannot be read (truncated, not JSON, not a checkpoint).

    The message names the file and what to delete or rerun.
    """


class RunPastBudget(ConfigError):
    """A run's checkpoint is already past the steps (or epochs) asked for."""


class TrainingInterrupted(MitDLError):
    """Training stopped by Ctrl-C (SIGINT) or SIGTERM; the message says whether a checkpoint was saved.

    Args:
        message: the sentence shown to the user.
        step: the step training stopped at.
        saved: whether a checkpoint of that step was written.
        directory: the checkpoint folder it was written to (a `pathlib.Path`), or ``None``.
    """

    def __init__(self, message, step, saved, directory=None):
        super().__init__(message)
        self.step = step
        self.saved = saved
        self.directory = directory


def first_line(error, limit=160):
    """What a caught exception says, shortened to quote inside one sentence: its first line, or its type.

    Args:
        error: the exception.
        limit: the most characters kept.

    Returns:
        The text.
    """
    text = str(error).strip()
    return (text.splitlines()[0] if text else type(error).__name__)[:limit]


def _shown(value):
    """A setting as an error shows it: long lists (a vocabulary) by their length."""
    return f"{len(value)} entries" if isinstance(value, (list, tuple)) and len(value) > 8 else repr(value)
