"""Where mit_dl looks for data on this machine, in order (docs/design.md, section 5).

1. an explicit path (``data_dir=`` / ``--data``) or the ``MIT_DL_DATA`` variable;
2. files that installed packages ship (music21 corpus, scikit-image);
3. local caches: ``~/tensorflow_datasets``, ``~/.keras/datasets`` and Debian's
   ``/usr/share/datasets``;
4. a tensorflow-datasets download, for users who are online (skipped at once
   when the download host cannot be reached, instead of tfds' minutes of
   retries).
"""

import os
import pathlib
import socket

ENV_VARIABLE = "MIT_DL_DATA"
CACHE_VARIABLE = "MIT_DL_CACHE"  # where models trained once for evaluation are kept
OFFLINE_VARIABLE = "MIT_DL_OFFLINE"  # set to 1 to never try a download
DEBIAN_DATASETS = pathlib.Path("/usr/share/datasets")
DOWNLOAD_HOST = ("storage.googleapis.com", 443)  # where tensorflow-datasets downloads from


def local_search_paths(data_dir=None):
    """Folders searched for dataset files, most specific first (steps 1 and 3 above).

    Args:
        data_dir: a folder the caller names (``--data``), searched first.

    Returns:
        A list of `pathlib.Path` (existing or not).
    """
    paths = []
    if data_dir:
        paths.append(pathlib.Path(data_dir).expanduser())
    if os.environ.get(ENV_VARIABLE):
        paths.append(pathlib.Path(os.environ[ENV_VARIABLE]).expanduser())
    home = pathlib.Path.home()
    paths += [home / "tensorflow_datasets", home / ".keras" / "datasets", DEBIAN_DATASETS]
    return paths


def describe_search_paths(data_dir=None):
    """The search folders and whether each exists, for `mit-dl info`.

    Args:
        data_dir: a folder the caller names, searched first.

    Returns:
        ``[(path, exists)]``.
    """
    return [(str(p), p.is_dir()) for p in local_search_paths(data_dir)]


def downloads_possible(timeout=3.0):
    """Whether a download can be tried: not switched off, and the download host answers quickly.

    Args:
        timeout: seconds to wait for the host.

    Returns:
        False when ``$MIT_DL_OFFLINE`` is set or the host does not answer.
    """
    if os.environ.get(OFFLINE_VARIABLE, "") not in ("", "0"):
        return False
    try:
        with socket.create_connection(DOWNLOAD_HOST, timeout=timeout):
            return True
    except OSError:
        return False


def cache_dir(*parts):
    """The folder where mit_dl keeps what it computes once per machine (e.g. evaluation classifiers).

    ``$MIT_DL_CACHE``, else ``$XDG_CACHE_HOME/mit_dl``, else ``~/.cache/mit_dl``.

    Args:
        *parts: sub-folders below it.

    Returns:
        The `pathlib.Path` (not created).
    """
    if os.environ.get(CACHE_VARIABLE):
        root = pathlib.Path(os.environ[CACHE_VARIABLE]).expanduser()
    else:
        root = pathlib.Path(os.environ.get("XDG_CACHE_HOME") or pathlib.Path.home() / ".cache") / "mit_dl"
    return root.joinpath(*parts)
