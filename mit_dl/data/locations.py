"""Where mit_dl looks for data on this machine, in order (DESIGN.md section 5).

1. an explicit path (``data_dir=`` / ``--data``) or the ``MIT_DL_DATA`` variable;
2. files that installed packages ship (music21 corpus, scikit-image);
3. local caches: ``~/tensorflow_datasets``, ``~/.keras/datasets`` and Debian's
   ``/usr/share/datasets``;
4. a tensorflow-datasets download, for users who are online.
"""

import os
import pathlib

ENV_VARIABLE = "MIT_DL_DATA"


def local_search_paths(data_dir=None):
    """Folders searched for dataset files, most specific first (steps 1 and 3)."""
    paths = []
    if data_dir:
        paths.append(pathlib.Path(data_dir).expanduser())
    if os.environ.get(ENV_VARIABLE):
        paths.append(pathlib.Path(os.environ[ENV_VARIABLE]).expanduser())
    home = pathlib.Path.home()
    paths += [
        home / "tensorflow_datasets",
        home / ".keras" / "datasets",
        pathlib.Path("/usr/share/datasets"),
    ]
    return paths


def describe_search_paths(data_dir=None):
    """``[(path, exists)]`` for `mit-dl info`."""
    return [(str(p), p.is_dir()) for p in local_search_paths(data_dir)]
