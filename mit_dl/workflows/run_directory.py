"""The settings a run directory was started with, so that a resume cannot mix two runs.

Every ``train`` command resumes from the checkpoints in its run directory.
Resuming with other data or another model shape either fails deep inside
checkpoint restoring or, worse, silently continues with mismatched inputs
(the same vocabulary size with other characters). The first call records
the settings; later calls must match them.
"""

import json
import pathlib

SETTINGS_FILE = "settings.json"


def check_settings(out_dir, settings):
    """Record ``settings`` (a JSON-able dict) in ``out_dir``, or check them against the recorded ones.

    Only settings that change the data or the model belong here (not the
    number of steps, which a resume may extend). Raises ``ValueError``
    naming each differing setting.
    """
    path = pathlib.Path(out_dir) / SETTINGS_FILE
    settings = json.loads(json.dumps(settings))  # tuples -> lists, as they come back from the file
    if path.is_file():
        recorded = json.loads(path.read_text())
        differing = sorted(key for key in set(recorded) | set(settings) if recorded.get(key) != settings.get(key))
        if differing:
            changes = "; ".join(f"{key}: {_shown(recorded.get(key))} then, {_shown(settings.get(key))} now"
                                for key in differing)
            raise ValueError(
                f"run directory {path.parent} was started with other settings ({changes}); "
                "repeat the original options to resume, or pass another --out."
            )
        return
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(settings, indent=2) + "\n")


def _shown(value):
    """A setting as the error shows it: long lists (a vocabulary) by their length."""
    return f"{len(value)} entries" if isinstance(value, list) and len(value) > 8 else repr(value)
