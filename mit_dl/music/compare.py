"""Lab 1 part 2: judge several exported generators with the same sampling seeds in one table.

``compare`` writes ``compare.json`` and ``compare.md``; it trains nothing.

Example (a notebook)::

    from mit_dl.music import compare
    compare.compare(["runs/lstm/generator", "runs/transformer/generator"], [0, 1], [50, 50], [1.0], "runs/cmp")
"""

import pathlib

from mit_dl.music import judging
from mit_dl.music.config import GenerationConfig
from mit_dl.music.generate import generate, load_generator
from mit_dl.training.runs import write_json


def compare(
    model_dirs,
    seeds=(0, 1, 2),
    songs_per_seed=(50, 100, 100),
    temperatures=(1.0,),
    out_dir=None,
    length=None,
    log=print,
):
    """Judge exported generators with the same sampling seeds; one row per export and temperature.

    Each export samples ``songs_per_seed[i]`` songs with sampling seed
    ``seeds[i]`` (`generate`, built-in synthesiser) and its first complete
    songs are pooled: valid rate with a 95% interval, the same check on its
    real held-out tunes, their ratio, playable songs, held-out loss and the
    novelty of the valid songs. Exports that differ only in their training
    seed also get a row with the mean of their ratios.

    Args:
        model_dirs: generator exports (``<run>/generator``).
        seeds: sampling seeds.
        songs_per_seed: samples per seed (one count per seed).
        temperatures: sampling temperatures; every export is judged at each.
        out_dir: where the songs, ``compare.json`` and ``compare.md`` go (default ``runs/music-compare``).
        length: characters per sample (default: `generate`'s, twice a long training tune).
        log: where progress lines go.

    Returns:
        ``{"rows": [...], "groups": [...]}`` as written to ``compare.json``.
    """
    out = pathlib.Path(out_dir or "runs/music-compare")
    exports = [(model_dir, load_generator(model_dir)) for model_dir in map(pathlib.Path, model_dirs)]  # all first
    rows = []
    for model_dir, loaded in exports:
        metadata = loaded[1]
        label = model_dir.parent.name if model_dir.name == "generator" else model_dir.name
        for temperature in temperatures:
            summaries = []
            for seed, songs_count in zip(seeds, songs_per_seed):
                config = GenerationConfig(
                    songs=songs_count, temperature=temperature, seed=seed, soundfont="none", length=length
                )
                summaries.append(
                    generate(
                        model_dir, config, out / label / f"t{temperature:g}-s{seed}", log=lambda *_: None, loaded=loaded
                    )
                )
            rows.append(judging.pooled_row(label, metadata, temperature, summaries))
            log(judging.row_line(rows[-1]))
    result = {
        "seeds": list(seeds),
        "songs_per_seed": list(songs_per_seed),
        "length": length,
        "rows": rows,
        "groups": judging.training_seed_groups(rows),
    }
    write_json(out / "compare.json", result)
    (out / "compare.md").write_text(judging.comparison_table(result), encoding="utf-8")
    log(f"table: {out / 'compare.md'}")
    return result
