"""What `mit-dl info` reports: library versions, devices, data locations."""

import importlib.metadata
import platform

import mit_dl

PACKAGES = ("tensorflow", "keras", "tensorflow-probability", "tensorflow-datasets", "numpy", "music21")


def package_versions():
    """Installed version of each key dependency (``"missing"`` if absent)."""
    versions = {"mit_dl": mit_dl.__version__, "python": platform.python_version()}
    for name in PACKAGES:
        try:
            versions[name] = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            versions[name] = "missing"
    return versions


def devices():
    """``[(device_type, name)]`` of the devices TensorFlow sees."""
    import tensorflow as tf

    return [(d.device_type, d.name) for d in tf.config.list_physical_devices()]


def report():
    """The multi-line text printed by `mit-dl info`."""
    from mit_dl.data.locations import ENV_VARIABLE, describe_search_paths

    lines = ["mit_dl environment", "", "versions:"]
    lines += [f"  {name:24s} {version}" for name, version in package_versions().items()]
    lines += ["", "devices:"]
    found = devices()
    lines += [f"  {kind:6s} {name}" for kind, name in found]
    if not any(kind == "GPU" for kind, _ in found):
        lines.append("  (no GPU: training runs on the CPU; `pip install mit_dl[gpu]` on a CUDA machine)")
    lines += ["", f"data is looked for in (set ${ENV_VARIABLE} or pass --data to add a folder):"]
    lines += [f"  {'found  ' if exists else 'missing'} {path}" for path, exists in describe_search_paths()]
    lines.append("  packaged: music21 corpus (Irish folk tunes), scikit-image lfw_subset")
    return "\n".join(lines)
