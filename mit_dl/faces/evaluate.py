"""Lab 2 part 2: measure an exported face detector on a folder of faces or the synthetic benchmark.



Example (a notebook)::

    from mit_dl.faces import evaluate
    metrics = evaluate.evaluate_export("runs/faces-try/detector")
"""

import dataclasses

import numpy as np

from mit_dl import evaluation
from mit_dl.errors import ConfigError, ExportError
from mit_dl.export import load_savedmodel
from mit_dl.faces import bias, data, sources
from mit_dl.faces.config import FacesConfig


def evaluate_export(model_dir, test_faces=None):
    """Per-group accuracy of an exported detector, through its ``detect`` signature.

    Args:
        model_dir: the export's folder (``<run>/detector``).
        test_faces: a folder of faces in one sub-folder per group (every image a
            face, each sub-folder a group); otherwise the held-out data the
            detector was trained against is rebuilt from its metadata.

    Returns:
        The per-group report.

    Raises:
        ExportError: the folder is not a face-detector export.
    """
    served, metadata = load_savedmodel(model_dir)
    if not hasattr(served, "detect"):
        raise ExportError(
            f"{model_dir} is not a face-detector export (it has no `detect` signature); pass the "
            "detector folder a faces run exported (<run>/detector)."
        )
    if test_faces:
        images, groups = sources.image_folder(test_faces)
        labels = np.ones(len(images), np.int32)
        groups = np.array([f"face/{g}" for g in groups])
        source = f"faces in {test_faces}"
    else:
        _, test, source = data.load_data(_config_of_export(model_dir, metadata))
        images, labels, groups = test.images, test.labels, test.group_names()
    p = np.concatenate([served.detect(images[i : i + 500])["probability"].numpy() for i in range(0, len(images), 500)])
    return {"source": source, **bias.summarise(evaluation.group_report(labels, p, groups))}


def _config_of_export(model_dir, metadata):
    """The `FacesConfig` an export was trained with (exports before run records kept preset and seed only)."""
    if "config" in metadata:
        known = {f.name for f in dataclasses.fields(FacesConfig)}
        return FacesConfig(**{k: v for k, v in metadata["config"].items() if k in known})
    if "data" not in metadata:
        raise ConfigError("test_faces", f"is needed: {model_dir} has no metadata.json naming its data")
    return FacesConfig.from_preset(metadata.get("preset", "quick"), data=metadata["data"], seed=metadata.get("seed", 0))
