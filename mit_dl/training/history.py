"""Metric history as JSON beside the checkpoints (so a resumed run keeps it)."""

import json
import os
import pathlib

FILE_NAME = "history.json"


def write(directory, history):
    """Write atomically: a temp file renamed over the old one."""
    path = pathlib.Path(directory) / FILE_NAME
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.with_suffix(".json.tmp")
    temp.write_text(json.dumps(history, indent=2))
    os.replace(temp, path)
    return path


def read(directory):
    path = pathlib.Path(directory) / FILE_NAME
    return json.loads(path.read_text()) if path.exists() else {}


def with_split_name(history, name, old="val"):
    """``history`` with ``old_*`` keys named ``name_*`` (histories written before a run named its split)."""
    if name == old:
        return history
    return {(f"{name}_{k[len(old) + 1 :]}" if k.startswith(f"{old}_") else k): v for k, v in history.items()}
