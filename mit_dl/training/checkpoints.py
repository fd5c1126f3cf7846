"""Finding and restoring a run's checkpoints when files are damaged or missing (docs/design.md, section 9).

A checkpoint ``ckpt-N`` is two or more files, ``ckpt-N.index`` and
``ckpt-N.data-*``, plus the state file ``checkpoint`` that
``tf.train.CheckpointManager`` keeps (the newest one and the list it
manages). Either can be lost or damaged by a disk that filled up, a copy
that stopped half-way or a hand that deleted the wrong file:

- the checkpoints are found by their files, not only through the state
  file, so a missing ``checkpoint`` file resumes from the newest one instead
  of starting again from step 0 (and overwriting the older ones);
- a checkpoint that cannot be read is named, moved aside into
  ``unreadable/`` (never deleted) and the next newest one is tried.
"""

import os
import pathlib
import re
import shutil

import tensorflow as tf

from mit_dl.errors import CorruptFile, first_line

STATE_FILE = "checkpoint"
UNREADABLE = "unreadable"
_INDEX = re.compile(r"^ckpt-(\d+)\.index$")


def found(directory):
    """The checkpoints in ``directory``, by their files, newest first.

    Args:
        directory: a Trainer's ``checkpoint_dir``.

    Returns:
        ``[(step, path prefix)]``, highest step first (empty when there are none).
    """
    directory = pathlib.Path(directory)
    if not directory.is_dir():
        return []
    steps = sorted((int(m.group(1)) for p in directory.iterdir() if (m := _INDEX.match(p.name))), reverse=True)
    return [(step, str(directory / f"ckpt-{step}")) for step in steps]


def newest_step(directory):
    """The step of the newest checkpoint file in ``directory``.

    Args:
        directory: a Trainer's ``checkpoint_dir``.

    Returns:
        The step, or ``None`` when there is no checkpoint.
    """
    checkpoints = found(directory)
    return checkpoints[0][0] if checkpoints else None


def restore_newest_readable(checkpoint, directory, say=print):
    """Restore ``checkpoint`` from the newest readable checkpoint of ``directory``.

    Unreadable checkpoints (truncated, empty, of another model) are moved
    into ``directory/unreadable/`` with a message naming them; the state
    file is rewritten to list the readable ones, so the manager keeps
    rotating them.

    Args:
        checkpoint: the ``tf.train.Checkpoint`` to restore into.
        directory: the checkpoints' folder.
        say: where the messages go.

    Returns:
        The path prefix restored, or ``None`` when the folder holds no checkpoint.

    Raises:
        CorruptFile: checkpoints exist but none can be read.
    """
    directory = pathlib.Path(directory)
    candidates = found(directory)
    if not candidates:
        return None
    if not (directory / STATE_FILE).is_file():
        say(f"{directory / STATE_FILE} is missing; found the checkpoints by their files (newest: {candidates[0][1]})")
    failed = []
    for _step, prefix in candidates:
        try:
            checkpoint.restore(prefix).expect_partial()
        except (tf.errors.OpError, ValueError, AssertionError, IndexError, KeyError, EOFError, OSError) as error:
            failed.append((prefix, first_line(error)))
            continue
        for bad, reason in failed:
            moved = _move_aside(bad)
            say(f"checkpoint {bad} cannot be read ({reason}); moved it to {moved} and resumed from {prefix}")
        if failed or not (directory / STATE_FILE).is_file():
            _write_state(directory)
        return prefix
    names = ", ".join(prefix for prefix, _ in failed)
    raise CorruptFile(
        f"no checkpoint in {directory} can be read ({names}: {failed[0][1]}); delete the folder "
        f"{directory} to train this run again from step 0."
    )


def _move_aside(prefix):
    """Move a checkpoint's files into ``unreadable/`` beside it; returns that folder."""
    prefix = pathlib.Path(prefix)
    aside = prefix.parent / UNREADABLE
    aside.mkdir(exist_ok=True)
    for path in prefix.parent.glob(f"{prefix.name}.*"):
        shutil.move(str(path), str(aside / path.name))
    return aside


def _write_state(directory):
    """Rewrite the state file (text protobuf) to list the checkpoints whose files are there, newest last."""
    names = [pathlib.Path(prefix).name for _, prefix in reversed(found(directory))]
    lines = [f'model_checkpoint_path: "{names[-1]}"'] + [f'all_model_checkpoint_paths: "{n}"' for n in names]
    staging = pathlib.Path(directory) / f".{STATE_FILE}.partial"
    staging.write_text("\n".join(lines) + "\n")
    os.replace(staging, pathlib.Path(directory) / STATE_FILE)
