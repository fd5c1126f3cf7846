"""Metric history as JSON beside the checkpoints (so a resumed run keeps it)."""

import json
import pathlib

from mit_dl.training.runs import write_json

FILE_NAME = "history.json"


def write(directory, history):
    """Write atomically: a temporary file renamed over the old one."""
    return write_json(pathlib.Path(directory) / FILE_NAME, history)


def read(directory):
    path = pathlib.Path(directory) / FILE_NAME
    return json.loads(path.read_text()) if path.exists() else {}


def with_split_name(history, name, old="val"):
    """``history`` with ``old_*`` keys named ``name_*`` (histories written before a run named its split)."""
    if name == old:
        return history
    return {(f"{name}_{k[len(old) + 1 :]}" if k.startswith(f"{old}_") else k): v for k, v in history.items()}
