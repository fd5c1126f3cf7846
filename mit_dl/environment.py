"""What `mit-dl info` reports (library versions, devices, data locations), and a quiet TensorFlow start."""

import importlib.metadata
import os
import platform
import sys

import mit_dl

PACKAGES = ("tensorflow", "keras", "tensorflow-probability", "tensorflow-datasets", "numpy", "music21")


def quiet_tensorflow_startup():
    """Import TensorFlow and start its devices with its C++ start-up lines hidden.

    TensorFlow's runtime writes lines such as "Could not find cuda drivers"
    straight to file descriptor 2 before ``TF_CPP_MIN_LOG_LEVEL`` applies (a
    notebook shows them under its first cell), so the descriptor itself
    points at /dev/null meanwhile (also while a first transpose runs, see
    below). Python errors still surface as exceptions.
    Nothing is hidden when TensorFlow is already imported or the user set
    ``TF_CPP_MIN_LOG_LEVEL`` below 2 (to see those lines); the mit-dl
    command and the lab notebooks call it first.
    """
    level = os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    if not level.isdigit() or int(level) < 2 or "tensorflow" in sys.modules:
        return
    sys.stderr.flush()
    saved = os.dup(2)
    devnull = os.open(os.devnull, os.O_WRONLY)
    try:
        os.dup2(devnull, 2)
        import tensorflow as tf

        tf.config.list_logical_devices()  # device start-up messages happen here
        # TensorFlow 2.21 logs "oneDNN supports DT_INT32 only on platforms with AVX-512" as an error
        # the first time a transpose runs, even on AVX-512 CPUs (seen on AMD EPYC); it only says that
        # Eigen does the transpose. It logs once per process, so let that first time happen here.
        tf.transpose(tf.zeros((1, 1), tf.int32))
    finally:
        os.dup2(saved, 2)
        os.close(saved)
        os.close(devnull)


def package_versions():
    """Installed version of each key dependency.

    Returns:
        ``{package: version}``, ``"missing"`` for one that is not installed.
    """
    versions = {"mit_dl": mit_dl.__version__, "python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "missing"
    return versions


def devices():
    """The devices TensorFlow sees.

    Returns:
        ``[(device_type, name)]``.
    """
    import tensorflow as tf

    return [(d.device_type, d.name) for d in tf.config.list_physical_devices()]


def report():
    """The multi-line text printed by `mit-dl info`: versions, devices, where data is looked for.

    Returns:
        The text.
    """
    from mit_dl.data.locations import ENV_VARIABLE, describe_search_paths

    lines = ["mit_dl environment", "", "versions:"]
    lines += [f"  {name:24s} {version}" for name, version in package_versions().items()]
    lines += ["", "devices:"]
    found = devices()
    lines += [f"  {kind:6s} {name}" for kind, name in found]
    if not any(kind == "GPU" for kind, _ in found):
        lines.append(
            '  (no GPU: training runs on the CPU; on a CUDA machine `pip install -e ".[gpu]"` in the '
            "project folder, and "
            "`TF_CPP_MIN_LOG_LEVEL=0 mit-dl info` shows TensorFlow's reason)"
        )
    lines += ["", f"data is looked for in (set ${ENV_VARIABLE} or pass --data to add a folder):"]
    lines += [f"  {'found  ' if exists else 'missing'} {path}" for path, exists in describe_search_paths()]
    lines.append("  packaged: music21 corpus (Irish folk tunes), scikit-image lfw_subset")
    return "\n".join(lines)
