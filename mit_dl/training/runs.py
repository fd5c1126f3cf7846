"""The run record: one training run's directory, settings, seed, precision, strategy and results.

Every lab's ``train`` starts a `Run` from its config::

    run = Run.start(out_dir, config, lab="music", derived={"vocabulary": vocab.characters}, log=print)
    with run.scope():                      # precision policy and tf.distribute strategy
        model = ...
        trainer = Trainer(model, ..., strategy=run.strategy, checkpoint_dir=run.checkpoints)
    run.write_metrics({"loss_per_character": ...})
    export_savedmodel(model, run.path / "generator", metadata=run.export_metadata({...}))

`Run.start` records the config's *values* in ``settings.json`` (and
``derived`` facts of the data, e.g. a vocabulary) the first time; a later
start in the same directory, a resume, must give the same values for every
field that a resume must repeat, or it is refused with a `RunMismatch`
naming each difference. Fields marked ``resume="free"`` (step budgets) may
change. It also seeds Python, NumPy and TensorFlow from ``config.seed``.

Run directories written before configs existed (settings.json without a
``format``) recorded a preset's *name*; the lab config's
``settings_from_legacy(recorded)`` turns them into the values that name
meant then, so those runs still resume, and the file is rewritten in the
current format.
"""

import contextlib
import datetime
import json
import os
import pathlib
import socket
import weakref

import keras

from mit_dl import config as config_lib
from mit_dl.errors import CorruptFile, ExportError, RunDirectoryError, RunMismatch, first_line
from mit_dl.export import library_versions
from mit_dl.training import checkpoints
from mit_dl.training.distribute import make_strategy
from mit_dl.training.precision import precision_policy

SETTINGS_FILE = "settings.json"
METRICS_FILE = "metrics.json"
LOCK_FILE = "run.lock"
_LOCKS = {}  # run directory -> its lock file, held open by this process
FORMAT = 2


def write_json(path, data):
    """Write ``data`` as JSON to ``path`` atomically (a temporary file renamed into place).

    Args:
        path: the file to write; its folder is created.
        data: JSON-able data (other objects are written as their ``str``).

    Returns:
        ``path`` as a `pathlib.Path`.
    """
    path = pathlib.Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    staging = path.with_name(f".{path.name}.partial")
    with open(staging, "w", encoding="utf-8") as file:
        file.write(json.dumps(data, indent=2, default=str) + "\n")
        file.flush()
        os.fsync(file.fileno())  # the bytes are on disk before the name points at them
    os.replace(staging, path)
    return path


def read_json(path, remedy):
    """The JSON in ``path``, or one sentence naming the file and ``remedy`` when it cannot be read.

    Args:
        path: the file (it must exist).
        remedy: what the user should do, ending the sentence (``"delete it to start the run again"``).

    Returns:
        The parsed data.

    Raises:
        CorruptFile: the file is not valid JSON (truncated, overwritten) or cannot be read.
    """
    try:
        return json.loads(pathlib.Path(path).read_text(encoding="utf-8"))
    except (ValueError, OSError) as error:
        raise CorruptFile(f"{path} cannot be read ({first_line(error)}); {remedy}.") from None


def _settings_remedy(path):
    return (
        f"it is the record of the run's settings: restore it from a copy, or delete the run directory {path} "
        "to start the run again"
    )


def read_settings(path):
    """The lab and config values a run directory's ``settings.json`` records.

    Args:
        path: the run directory.

    Returns:
        ``(lab, values)``: the lab's name and ``{field: value}`` of its config.

    Raises:
        ExportError: the folder holds no ``settings.json`` of this format (not a run directory, or one of
            release 0.1 that its train command has not resumed yet).
    """
    settings_path = pathlib.Path(path) / SETTINGS_FILE
    if not settings_path.is_file():
        raise ExportError(f"{path} is not a run directory (no {SETTINGS_FILE}); pass the folder a train command wrote.")
    recorded = read_json(settings_path, _settings_remedy(path))
    if recorded.get("format") != FORMAT:
        raise ExportError(
            f"{path} was written by release 0.1; run its train command once on it to update its settings.json."
        )
    return recorded["lab"], recorded["config"]


def finished_metrics(path, config):
    """The ``metrics.json`` of a run of exactly ``config`` that finished in ``path``, or ``None``.

    A lab's ``train`` writes ``metrics.json`` after its last step, with the
    config's values; this reads it back when every value (step budgets
    included) is the one ``config`` has (a field the run did not record had
    its ``absent`` value), so a command that composes several
    runs (a comparison over seeds, the docs' figures) can be run again
    without evaluating finished runs again. A run that measured less than
    today's ``train`` does keeps what it measured: delete its ``metrics.json``
    and run the command again to measure it anew.

    Args:
        path: the run directory.
        config: the lab's config.

    Returns:
        The metrics dict, or ``None`` when the run has not finished with these values.
    """
    metrics_file = pathlib.Path(path) / METRICS_FILE
    if not metrics_file.is_file():
        return None
    metrics = read_json(metrics_file, "delete it and run the command again to measure the run anew")
    recorded, then = metrics.get("config", {}), config_lib.absent_values(type(config))
    current = json.loads(json.dumps(config_lib.values(config)))
    if any(recorded.get(name, then[name]) != value for name, value in current.items()):
        return None
    return metrics


def finished_or_trained(train, config, path):
    """A run's metrics: read back when ``path`` holds a finished run of ``config``'s values, else trained now.

    Args:
        train: ``train(config, path) -> metrics`` (a lab's train function).
        config: the run's config.
        path: the run directory.

    Returns:
        The run's metrics.
    """
    return finished_metrics(path, config) or train(config, path)


def train_variants(train, base, variants, seeds, out, log=print):
    """Train each variant (``{name: config changes}``) on each seed, each its own run directory ``<name>-s<seed>``.

    A finished run is read back, an unfinished one resumed (`finished_or_trained`), so an experiment
    stopped half-way continues where it was.

    Args:
        train: ``train(config, path) -> metrics`` (a lab's train function, quiet and without an export).
        base: the config the variants change.
        variants: ``{name: {field: value}}``.
        seeds: the seeds.
        out: the experiment's folder.
        log: where one line per run goes.

    Returns:
        ``{name: [metrics per seed]}``.
    """

    def logged(config, path):
        log(f"{path.name}: training")
        return train(config, path)

    return {
        name: [
            finished_or_trained(logged, base.replace(**changes, seed=seed), pathlib.Path(out) / f"{name}-s{seed}")
            for seed in seeds
        ]
        for name, changes in variants.items()
    }


def compared_settings(config, derived=None):
    """The values a resume must repeat: the resume-relevant config fields and the derived facts.

    Args:
        config: the run's config.
        derived: facts computed from the data (a vocabulary, a data source) that a resume must also find.

    Returns:
        ``{name: value}``, JSON-able.
    """
    values = config_lib.values(config)
    unused = set(config.unused_fields())
    kept = {name: values[name] for name in config_lib.resume_fields(type(config)) if name not in unused}
    return {**kept, **json.loads(json.dumps(derived or {}))}


def differences(recorded, current):
    """The names whose values differ between two settings dicts.

    Args:
        recorded: the settings a run directory holds.
        current: the settings of the run being started.

    Returns:
        ``[(name, recorded value, current value)]``, sorted by name.
    """
    return [
        (name, recorded.get(name), current.get(name))
        for name in sorted(set(recorded) | set(current))
        if recorded.get(name) != current.get(name)
    ]


def check_run_directory(path, lab):
    """Refuse a ``path`` that cannot hold a ``lab`` run, before any work: a file, or another lab's run.

    Args:
        path: the run directory asked for (it may not exist yet).
        lab: the lab whose run it would hold.

    Raises:
        RunDirectoryError: one sentence naming what the folder is and what to give instead.
    """
    path = pathlib.Path(path)
    if path.exists() and not path.is_dir():
        raise RunDirectoryError(f"{path} is a file; give a folder for the run (a new folder starts a run).")
    settings = path / SETTINGS_FILE
    if settings.is_file():
        recorded = read_json(settings, _settings_remedy(path))
        recorded = recorded.get("lab") if isinstance(recorded, dict) else None
        if recorded and recorded != lab:
            raise RunDirectoryError(
                f"{path} is the run directory of a {recorded} run, not a {lab} one; give another folder."
            )


def lock_run_directory(path):
    """Create ``path`` and lock its ``run.lock``: one writer per run directory.

    The lock is an ``fcntl.flock`` on the file, which the system drops when the process dies, so a lock
    file left by a killed run is taken over. The same process may start the same run again (a notebook,
    a test). `Run.start` holds it as long as its `Run` lives (`release_run_directory` when the run is
    freed). Where the system has no ``flock`` (Windows) nothing is locked.

    Args:
        path: the run directory.

    Returns:
        The key to release it with.

    Raises:
        RunDirectoryError: another process is writing the run (it is named), or the folder cannot be
            created or written.
    """
    path = pathlib.Path(path)
    try:
        path.mkdir(parents=True, exist_ok=True)
        key = str(path.resolve())
        if key in _LOCKS:
            _LOCKS[key][1] += 1
            return key
        file = open(path / LOCK_FILE, "a+", encoding="utf-8")  # noqa: SIM115 (held open until released)
    except OSError as error:
        raise RunDirectoryError(
            f"cannot write the run directory {path} ({error.strerror or error}); give a folder you can write to."
        ) from None
    try:
        import fcntl
    except ImportError:  # Windows: no lock
        _LOCKS[key] = [file, 1]
        return key
    try:
        fcntl.flock(file, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        file.seek(0)
        holder = file.read().strip() or "another process"
        file.close()
        raise RunDirectoryError(
            f"{path} is being written by {holder}; wait until it ends (or stop it), or give another folder."
        ) from None
    except OSError:  # a file system without locks (some network mounts): go on unlocked
        pass
    file.seek(0)
    file.truncate()
    started = datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds")
    file.write(f"process {os.getpid()} on {socket.gethostname()} (since {started})\n")
    file.flush()
    _LOCKS[key] = [file, 1]
    return key


def release_run_directory(key):
    """Drop one hold of a run directory's lock (`lock_run_directory`'s key); the last one unlocks it.

    Args:
        key: the resolved path `lock_run_directory` returned.
    """
    held = _LOCKS.get(key)
    if held is None:
        return
    held[1] -= 1
    if held[1] <= 0:
        del _LOCKS[key]
        held[0].close()  # closing the file drops its flock


class Run:
    """A run directory and the config it was started with (see the module docstring).

    Use `Run.start`, which checks or records the settings and seeds; the
    constructor only holds the pieces.

    Args:
        path: the run directory.
        config: the lab's config (a `mit_dl.config.RunConfig`).
        lab: the lab's name, recorded in ``settings.json`` (``"music"``, ``"images"``, ``"faces"``).
        derived: facts computed from the data that a resume must repeat.
        log: where progress lines go (``print`` by default).
    """

    def __init__(self, path, config, lab, derived=None, log=print):
        self.path = pathlib.Path(path)
        self.config = config
        self.lab = lab
        self.derived = dict(derived or {})
        self.log = log
        self.strategy = make_strategy(config.distribute)
        self.started = datetime.datetime.now(datetime.timezone.utc)

    @property
    def checkpoints(self):
        """The folder of the run's Trainer checkpoints."""
        return self.path / "checkpoints"

    @property
    def logs(self):
        """The folder of the run's TensorBoard scalars and ``history.json``."""
        return self.path / "logs"

    @classmethod
    def start(cls, path, config, lab, derived=None, log=print):
        """Create or resume the run in ``path``: check or record the settings, seed, and say which it is.

        Args:
            path: the run directory (created if missing).
            config: the lab's config.
            lab: the lab's name.
            derived: facts computed from the data that a resume must repeat.
            log: where progress lines go.

        Returns:
            The `Run`.

        Raises:
            RunMismatch: the directory holds a run started with other values (each is named).
            RunDirectoryError: ``path`` is a file, or another lab's run directory.
        """
        check_run_directory(path, lab)
        key = lock_run_directory(path)
        run = cls(path, config, lab, derived, log)
        weakref.finalize(run, release_run_directory, key)  # the lock lasts as long as the run object
        run._check_or_record_settings()
        keras.utils.set_random_seed(config.seed)
        step = run.checkpoint_step()
        if step is None and run.resumed_settings:
            log(
                f"run directory: {run.path.resolve()} (it holds no checkpoint yet: training starts from step 0; "
                "training again into this folder resumes it)"
            )
        elif step is None:
            # Not "run the same command again": a command whose default folder has a time stamp starts
            # a new folder each time; the folder is what resumes.
            log(f"run directory: {run.path.resolve()} (a new run; training again into this folder resumes it)")
        else:
            log(f"run directory: {run.path.resolve()} (resuming from its checkpoint at step {step})")
        return run

    def checkpoint_step(self):
        """The step of the newest checkpoint in the run directory.

        Returns:
            The step as an int, or ``None`` when there is no checkpoint.
        """
        return checkpoints.newest_step(self.checkpoints)

    def _check_or_record_settings(self):
        settings_path = self.path / SETTINGS_FILE
        current = compared_settings(self.config, self.derived)
        self.resumed_settings = settings_path.is_file()
        if self.resumed_settings:
            found = differences(self._recorded(read_json(settings_path, _settings_remedy(self.path))), current)
            if found:
                raise RunMismatch(self.path, found)
        write_json(
            settings_path,
            {
                "format": FORMAT,
                "lab": self.lab,
                "config": config_lib.values(self.config),
                "derived": json.loads(json.dumps(self.derived)),
            },
        )

    def _recorded(self, recorded_file):
        """The compared settings of a settings.json, of this format or translated from the first one."""
        config_class = type(self.config)
        if recorded_file.get("format") != FORMAT:
            translated = config_class.settings_from_legacy(recorded_file)
            return compared_settings(config_class(**translated["config"]), translated["derived"])
        # A field added since the run started had its `absent` value then (by default, its default).
        then = config_lib.absent_values(config_class)
        unused = set(self.config.unused_fields())
        recorded = {
            name: recorded_file["config"].get(name, then[name])
            for name in config_lib.resume_fields(config_class)
            if name not in unused
        }
        return {**recorded, **recorded_file.get("derived", {})}

    @contextlib.contextmanager
    def scope(self):
        """Build and train under the config's precision policy and inside its strategy's scope."""
        strategy_scope = self.strategy.scope() if self.strategy is not None else contextlib.nullcontext()
        with precision_policy(self.config.precision), strategy_scope:
            yield

    def summary(self):
        """What every record of this run shares: the lab, the config's values, derived facts, versions.

        Returns:
            A JSON-able dict.
        """
        return {
            "lab": self.lab,
            "config": config_lib.values(self.config),
            **self._derived_summary(),
            "versions": library_versions(),
            "started_at": self.started.isoformat(timespec="seconds"),
        }

    def _derived_summary(self):
        # A vocabulary is recorded in settings.json; the other records carry the short facts only.
        return {k: v for k, v in self.derived.items() if not isinstance(v, (list, tuple))}

    def write_metrics(self, results):
        """Write ``metrics.json``: `summary` plus ``results``.

        Args:
            results: the run's measured results.

        Returns:
            The dict written.
        """
        metrics = {**self.summary(), **results}
        write_json(self.path / METRICS_FILE, metrics)
        return metrics

    def export_metadata(self, results=None):
        """The ``metadata.json`` facts of an export of this run.

        Args:
            results: facts about the export (its kind, metrics) added to `summary`.

        Returns:
            The dict for `mit_dl.export.export_savedmodel`'s ``metadata``.
        """
        return {**self.summary(), **(results or {})}
