"""The generative lab's figures for the docs site (``python -m docs.build_assets --only generative``)."""

from mit_dl.generative import train
from mit_dl.generative.config import GenerativeConfig

RUNS = {  # run folder -> (config changes, the figures the page shows)
    "dcgan-fashion_mnist": ({"model": "dcgan"}, ["samples.png", "quality.png"]),
    "cgan-fashion_mnist": ({"model": "cgan"}, ["samples.png"]),
    "vae-fashion_mnist": ({"model": "vae"}, ["samples.png"]),
    "beta-vae-sprites": ({"model": "beta-vae", "dataset": "sprites"}, ["traversals.png"]),
}


def build(work, site):
    """The quick presets of the DCGAN, conditional GAN and VAE on Fashion-MNIST and the β-VAE on sprites, seed 0.

    Args:
        work: the scratch folder of the runs.
        site: the docs' asset writer (``docs/build_assets.py``'s `Site`).

    Returns:
        The manifest entry: the command, the files, each run's summary line.
    """
    files, measured = [], {}
    for name, (changes, figures) in RUNS.items():
        run_dir = work / name
        metrics = train.train(GenerativeConfig.from_preset("quick", **changes), run_dir)
        for figure in figures:  # grey mosaics weigh 3x less as JPEG: the site stays under 5.5 MB
            files.append(site.jpeg(run_dir / figure, f"{name}-{figure.replace('.png', '.jpg')}"))
        measured[name] = train.summary_line(changes["model"], metrics)
    return {
        "command": "mit-dl generative train --model M [--dataset sprites] --seed 0 (quick preset), for each run",
        "files": files,
        "summaries": measured,
    }
