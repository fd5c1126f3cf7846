"""Metric history as JSON beside the checkpoints (so a resumed run keeps it)."""

import pathlib

from mit_dl.training.runs import read_json, write_json

FILE_NAME = "history.json"


def write(directory, history):
    """Write a history to ``history.json`` in ``directory`` atomically.

    Args:
        directory: the Trainer's ``log_dir``.
        history: ``{metric: [value per epoch]}``.

    Returns:
        The path written.
    """
    return write_json(pathlib.Path(directory) / FILE_NAME, history)


def read(directory):
    """The history ``history.json`` in ``directory`` holds.

    Args:
        directory: the Trainer's ``log_dir``.

    Returns:
        ``{metric: [value per epoch]}``, empty when there is no file.
    """
    path = pathlib.Path(directory) / FILE_NAME
    if not path.exists():
        return {}
    return read_json(
        path,
        "it is rewritten after every epoch, so a resume can do without it: delete it (the resumed run's "
        "history then starts at the resumed epoch)",
    )


def with_split_name(history, name, old="val"):
    """Rename a history's evaluated split (histories written before a run named it).

    Args:
        history: ``{metric: [value per epoch]}``.
        name: the split's name now (``"test"``).
        old: the prefix the history uses.

    Returns:
        ``history`` with its ``old_*`` keys named ``name_*``.
    """
    if name == old:
        return history
    return {(f"{name}_{k[len(old) + 1 :]}" if k.startswith(f"{old}_") else k): v for k, v in history.items()}
