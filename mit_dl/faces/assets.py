"""The faces lab's figures for the docs site (``python -m docs.build_assets --only faces``)."""

from mit_dl.faces import compare
from mit_dl.faces.config import FacesConfig


def build(work, site):
    """Every compared model of the `full` preset on the synthetic benchmark, seed 0: the comparison and the DB-VAE's
    figures.

    Args:
        work: the scratch folder of the runs.
        site: the docs' asset writer (``docs/build_assets.py``'s `Site`).

    Returns:
        The manifest entry: the command, the files, each model's worst face group.
    """
    out = work / "faces-compare"
    summary = compare.compare(FacesConfig.from_preset("full"), seeds=(0,), out_dir=out)
    files = [site.copy(out / "group_accuracy.png")]
    dbvae = ["training_curves.png", "reconstructions.png", "sampling_extremes.png", "latent_traversal.png"]
    files += [site.copy(out / "seed-0" / "dbvae-max" / name, colours=256) for name in dbvae]
    worst = {name: summary["per_model"][name]["worst_face"]["mean"] for name in summary["models"]}
    return {"command": "mit-dl faces compare --seeds 0", "files": files, "worst_face_group": worst}
