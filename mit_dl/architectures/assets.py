"""The modern CNNs lab's figures for the docs site (``python -m docs.build_assets --only architectures``)."""

from mit_dl.architectures import compare
from mit_dl.architectures.config import ArchitecturesConfig

SEEDS = (0, 1, 2)


def build(work, site):
    """The degradation experiment (its CPU preset, seeds 0-2).

    Finished runs in ``work`` are read back.

    Args:
        work: the scratch folder of the runs.
        site: the docs' asset writer (``docs/build_assets.py``'s `Site`).

    Returns:
        The manifest entry: the command, the figure, the table and the verdict.
    """
    degradation = compare.degradation(ArchitecturesConfig.from_preset("degradation"), SEEDS, work / "degradation")
    return {
        "command": "mit-dl architectures degradation --seeds 0 1 2",
        "files": [site.copy(work / "degradation" / "degradation.png", colours=32)],
        "tables": {"degradation": (work / "degradation" / "table.md").read_text()},
        "verdict": degradation["verdict"],
    }
