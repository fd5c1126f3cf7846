"""The faces lab's part of ``mit-dl demo``: the standard CNN and the DB-VAE on the same synthetic faces."""

from mit_dl.faces import compare
from mit_dl.faces.config import FacesConfig


def run(out_dir, steps, seed, log, earlier):
    """Compare the standard face CNN with the DB-VAE (``quick`` preset, ``steps`` steps each, one seed).

    Args:
        out_dir: the part's folder.
        steps: training steps of each detector.
        seed: the seed of both.
        log: where progress lines go.
        earlier: the figures of the parts run before (unused).

    Returns:
        Each model's overall accuracy and its worst face group's, and the run directory.
    """
    log(f"face detection: standard CNN vs DB-VAE on synthetic faces with rare groups, {steps} steps each")
    summary = compare.compare(
        FacesConfig.from_preset("quick", steps=steps),
        seeds=(seed,),
        models=("cnn", "dbvae-max"),
        out_dir=out_dir,
        log=log,
    )
    log(
        f"(one seed and {steps} steps is a smoke run: per-group numbers move by several points between seeds, "
        "and the DB-VAE's reconstructions and latent traversal need the full preset; the measured debiasing gain "
        "comes from `mit-dl faces compare --seeds 0 1 2 3 4`, see the faces lab's docs page)"
    )
    per_model = summary["per_model"]
    return {
        "accuracy": {name: per_model[name]["accuracy"]["mean"] for name in summary["models"]},
        "worst_face_group": {name: per_model[name]["worst_face"]["mean"] for name in summary["models"]},
        "run_directory": str(out_dir),
    }
