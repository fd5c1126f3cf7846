"""The modern CNNs lab's figures for the docs site (``python -m docs.build_assets --only architectures``)."""

import json

from mit_dl.architectures import compare
from mit_dl.architectures.config import ArchitecturesConfig

SEEDS = (0, 1, 2)


def build(work, site):
    """The degradation experiment (its CPU preset, seeds 0-2) and the networks side by side (quick, seed 0).

    Finished runs in ``work`` are read back.

    Args:
        work: the scratch folder of the runs.
        site: the docs' asset writer (``docs/build_assets.py``'s `Site`).

    Returns:
        The manifest entry: the commands, the figure, both tables and the degradation verdict.
    """
    degradation = compare.degradation(ArchitecturesConfig.from_preset("degradation"), SEEDS, work / "degradation")
    side = compare.side_by_side(ArchitecturesConfig.from_preset("quick"), (0,), out=work / "compare")
    return {
        "command": "mit-dl architectures degradation --seeds 0 1 2; mit-dl architectures compare (quick preset)",
        "files": [site.copy(work / "degradation" / "degradation.png", colours=32)],
        "tables": {
            "degradation": (work / "degradation" / "table.md").read_text(),
            "compare": (work / "compare" / "table.md").read_text(),
        },
        "verdict": degradation["verdict"],
        "rows": json.loads(json.dumps(side["rows"])),
    }
