"""The toy lab's config: one field and two presets."""

import dataclasses

from mit_dl.config import RunConfig, option, positive


@dataclasses.dataclass(frozen=True)
class ToyConfig(RunConfig):
    """A toy run: how many steps to count."""

    PRESETS = {"quick": {"steps": 2}, "full": {"steps": 20}}

    steps: int = option(2, "steps counted (a toy's 95% of nothing)")

    def __post_init__(self):
        super().__post_init__()
        positive(self, "steps")

    @classmethod
    def quick(cls, **changes):
        """Two steps."""
        return cls.from_preset("quick", **changes)

    @classmethod
    def full(cls, **changes):
        """Twenty steps."""
        return cls.from_preset("full", **changes)
