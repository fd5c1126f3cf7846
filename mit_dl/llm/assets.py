"""The LLM lab's documented runs and figures for the docs site (``python -m docs.build_assets --only llm``).

- pretraining ``quick`` on Shakespeare (seeds 0-2): held-out bits per
  character beside the 5-gram Kneser-Ney baseline;
- pretraining ``quick`` on Python's documentation (seed 0): the base that
  fine-tuning teaches Shakespeare's sonnets (a voice it has never read);
- fine-tuning that base on the sonnets' lines, LoRA (rank 8) and every
  weight (seeds 0-2), compared with the base (`mit_dl.llm.compare`);
- the scaling sweep on Shakespeare; the memory table of the ``full`` preset.

Finished runs are read back (their folders are the cache).
"""

import json
import pathlib

from mit_dl.data.locations import local_search_paths
from mit_dl.llm import compare, finetune, memory, scaling, train
from mit_dl.llm.config import FinetuneConfig, GPTConfig
from mit_dl.training.runs import finished_or_trained

SEEDS = (0, 1, 2)
SONNET_LINES = "sonnets.txt"


def sonnet_lines(shakespeare, path):
    """The sonnets' verse, one line per example (the numerals and the title left out).

    Args:
        shakespeare: the folder of the 42 works.
        path: the file to write.

    Returns:
        The path.
    """
    text = (pathlib.Path(shakespeare) / "sonnets_gut.txt").read_text(encoding="utf-8")
    lines = [line.strip() for line in text.splitlines() if len(line.split()) >= 4]
    pathlib.Path(path).write_text("\n".join(lines[2:]) + "\n", encoding="utf-8")  # title and author
    return path


def _pretrain(work, shakespeare):
    reports = {}
    for seed in SEEDS:
        config = GPTConfig.from_preset("quick", data=str(shakespeare), seed=seed)
        reports[seed] = finished_or_trained(train.train, config, work / f"shakespeare-s{seed}")
    base = finished_or_trained(train.train, GPTConfig.from_preset("quick"), work / "pydoc-s0")
    return reports, base


def _finetune(work, data):
    runs = {}
    for method in ("lora", "full"):
        for seed in SEEDS:
            config = FinetuneConfig.from_preset(
                "quick", base=str(work / "pydoc-s0"), data=str(data), method=method, seed=seed
            )
            folder = work / f"sonnets-{method}-s{seed}"
            finished_or_trained(finetune.finetune, config, folder)
            runs.setdefault(method, []).append(folder)
    return runs


def build(work, site):
    """Every documented run; the figures and tables of the lab's page.

    Args:
        work: the scratch folder of the runs.
        site: the docs' asset writer (``docs/build_assets.py``'s `Site`).

    Returns:
        The manifest entry: the commands, the files and the tables.
    """
    shakespeare = next((p / "shakespeare" for p in local_search_paths() if (p / "shakespeare").is_dir()), None)
    if shakespeare is None:
        raise FileNotFoundError("the Shakespeare folder: set MIT_DL_DATA to the folder holding shakespeare/")
    pretrained, base = _pretrain(work, shakespeare)
    runs = _finetune(work, sonnet_lines(shakespeare, work / SONNET_LINES))
    comparisons = {
        seed: compare.compare(
            work / "pydoc-s0", [runs["lora"][i], runs["full"][i]], work / f"compare-s{seed}", seed=seed
        )
        for i, seed in enumerate(SEEDS)
    }
    sweep = scaling.sweep(
        GPTConfig.from_preset("quick", data=str(shakespeare), steps=1000, context=64), work / "scaling"
    )
    tables = {
        "pretraining": {seed: {"held_out": m["held_out"], "ngram": m["ngram"]} for seed, m in pretrained.items()},
        "base": base["held_out"],
        "comparisons": {seed: c["models"] for seed, c in comparisons.items()},
        "judge_accuracy": {seed: c["judge_accuracy"] for seed, c in comparisons.items()},
        "scaling": (work / "scaling" / "table.md").read_text(),
        "scaling_fit": {k: sweep[k] for k in ("size_law", "data_law")},
        "memory": memory.memory_table(GPTConfig.from_preset("full"), 8),
    }
    (work / "tables.json").write_text(json.dumps(tables, indent=2, default=str) + "\n")
    files = [
        site.copy(work / "scaling" / name, name, colours=32)
        for name in ("scaling_size.png", "scaling_data.png", "scaling_compute.png")
    ]
    return {
        "command": "mit-dl llm train --data ../shared/data/shakespeare --seed 0|1|2; mit-dl llm train; mit-dl llm "
        "finetune --base <pydoc run> --data sonnets.txt --method lora|full --seed 0|1|2; mit-dl llm compare; "
        "mit-dl llm scaling --data ../shared/data/shakespeare --steps 1000 --context 64; "
        "mit-dl llm memory --preset full",
        "files": files,
        "tables": tables,
    }
