"""Regenerate the documentation site's figures, audio and rendered notebooks from real runs.

Run from the repository root (the real Fashion-MNIST / MNIST files must be
reachable, e.g. ``MIT_DL_DATA=../shared/data``)::

    python -m docs.build_assets                     # everything, about 20 minutes on a 2-core CPU
    python -m docs.build_assets --only music faces  # some parts

Each part is a registered lab's builder (``mit_dl/<lab>/assets.py``, named
by its `mit_dl.registry.Lab`): it trains the lab the way its command does,
in a scratch folder (``--work``, default ``runs/docs-assets``), and copies
what the page shows into ``docs/assets/<lab>/`` through a `Site`; ``docs/assets/manifest.json`` records, per
part, the command-line equivalent, the date, the machine, the commit and
the figures the run measured, so a page can say what made each picture.
The notebooks part executes every solution notebook in quick mode and
writes it, outputs included, to ``docs/notebooks/``.
"""

import argparse
import base64
import datetime
import functools
import io
import json
import os
import pathlib
import platform
import re
import shutil
import subprocess
import time

ROOT = pathlib.Path(__file__).resolve().parents[1]
ASSETS = ROOT / "docs" / "assets"
NOTEBOOKS = ROOT / "docs" / "notebooks"
MANIFEST = ASSETS / "manifest.json"
# The rendered notebooks' outputs are shrunk to keep the committed site small (under 5.5 MB in all):
NOTEBOOK_AUDIO_SECONDS = 15  # songs in a notebook: the first 15 s at half the sample rate
LARGE_PNG = 100_000  # base64 characters; larger PNG outputs (grids of faces) become JPEG


def machine():
    """One line naming this machine: processor, cores, operating system."""
    model = platform.processor() or platform.machine()
    cpuinfo = pathlib.Path("/proc/cpuinfo")
    if cpuinfo.exists():
        for line in cpuinfo.read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return f"{model}, {os.cpu_count()} cores, {platform.system()} {platform.release()}"


def commit():
    """The repository's commit (with ``+changes`` when the work tree differs).

    Outside a git checkout (e.g. an exported copy of a commit) it is
    ``$MIT_DL_COMMIT`` when set, else ``unknown``.
    """
    fallback = os.environ.get("MIT_DL_COMMIT", "unknown")
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True)
        dirty = subprocess.run(["git", "status", "--porcelain", "mit_dl"], cwd=ROOT, capture_output=True, text=True)
    except OSError:
        return fallback
    return head.stdout.strip() + ("+changes" if dirty.stdout.strip() else "") if head.returncode == 0 else fallback


class Site:
    """What a lab's asset builder writes with: its folder ``docs/assets/<part>/`` and the copying helpers.

    Every method returns the file's path as the manifest lists it (``"<part>/<name>"``).
    """

    def __init__(self, part):
        self.part = part
        self.folder = ASSETS / part
        self.folder.mkdir(parents=True, exist_ok=True)

    def file(self, name):
        """The manifest's name of a file the builder wrote into `folder` itself."""
        return f"{self.part}/{name}"

    def copy(self, source, name=None, colours=None):
        """Copy ``source`` as ``name`` (default its own); with ``colours``, a PNG becomes a palette image."""
        name = name or pathlib.Path(source).name
        shutil.copyfile(source, self.folder / name)
        if colours and name.endswith(".png"):
            palette_png(self.folder / name, colours)
        return self.file(name)

    def jpeg(self, source, name):
        """Write the image ``source`` as the JPEG ``name`` (grey mosaics weigh 3x less than as PNG)."""
        from PIL import Image

        Image.open(source).convert("RGB").save(self.folder / name, format="JPEG", quality=85, optimize=True)
        return self.file(name)


def palette_png(path, colours=256):
    """Rewrite a PNG with a palette of ``colours``: grids of faces weigh about a third as much."""
    from PIL import Image

    with Image.open(path) as image:
        quantized = image.convert("RGB").quantize(colours)
    quantized.save(path, optimize=True)


def notebooks(work):
    """Every solution notebook executed in quick mode, outputs kept, into ``docs/notebooks/``."""
    import nbformat

    from mit_dl import registry
    from mit_dl.labs.runner import run_notebook

    NOTEBOOKS.mkdir(parents=True, exist_ok=True)
    done = {}
    for path in [ROOT / "labs" / f"{source}_solution.ipynb" for lab in registry.labs() for source in lab.notebooks]:
        report = run_notebook(path, quick=True, workdir=work / "notebooks" / path.stem)
        if not report.passed:
            raise SystemExit(f"{path} did not pass in quick mode: {report.summary()}")
        name = f"{path.parent.name}_{path.stem.removesuffix('_solution')}.ipynb"
        nbformat.write(shrink_outputs(report.notebook), NOTEBOOKS / name)
        done[name] = round(report.seconds, 1)
    command = "mit-dl labs check labs/LAB/PART_solution.ipynb --save-executed docs/notebooks/"
    return {"command": command, "seconds": done}


AUDIO_SOURCE = re.compile(r'src="data:audio/(x-)?wav;base64,([A-Za-z0-9+/=\s]+)"')


def shrink_outputs(notebook):
    """Shorten embedded songs, turn large PNG outputs into JPEG and animations into their last frame, in place.

    Args:
        notebook: an executed ``nbformat`` notebook.

    Returns:
        The same notebook, its outputs replaced where they were large.
    """
    for cell in notebook.cells:
        for output in cell.get("outputs", []):
            data = output.get("data", {})
            if "text/html" in data and AUDIO_SOURCE.search(data["text/html"]):
                data["text/html"] = AUDIO_SOURCE.sub(
                    lambda m: f'src="data:audio/{m[1] or ""}wav;base64,{_short_wav(m[2])}"', data["text/html"]
                )
            gif = data.pop("image/gif", None)
            if gif:  # an episode's animation: its last frame keeps the page small
                data["image/jpeg"] = _as_jpeg(gif, last_frame=True)
            png = data.get("image/png")
            if png and len(png) > LARGE_PNG:
                del data["image/png"]
                data["image/jpeg"] = _as_jpeg(png)
    return notebook


def _short_wav(encoded):
    from mit_dl.music import audio

    wave, rate = audio.read_wav(io.BytesIO(base64.b64decode(encoded)))
    wave = wave[: NOTEBOOK_AUDIO_SECONDS * rate]
    wave = wave[: len(wave) // 2 * 2].reshape(-1, 2).mean(axis=1)  # half the rate, averaging pairs
    out = io.BytesIO()
    audio.write_wav(out, wave, rate // 2)
    return base64.b64encode(out.getvalue()).decode("ascii")


def _as_jpeg(encoded, last_frame=False):
    from PIL import Image

    image = Image.open(io.BytesIO(base64.b64decode(encoded)))
    if last_frame:
        image.seek(image.n_frames - 1)
    image = image.convert("RGB")
    out = io.BytesIO()
    image.save(out, format="JPEG", quality=85, optimize=True)
    return base64.b64encode(out.getvalue()).decode("ascii")


def parts():
    """``{part: build(work)}``: each registered lab's builder (`mit_dl.registry.Lab.assets`), then the notebooks."""
    from mit_dl import registry

    found = {
        lab.name: functools.partial(_lab_part, lab.name, lab.assets)
        for lab in registry.labs()
        if lab.assets is not None
    }
    return {**found, "notebooks": notebooks}


def _lab_part(name, assets, work):
    from mit_dl import registry

    return registry.resolve(assets)(work, Site(name))


def main(argv=None):
    """Build the parts named on the command line (all by default) and update the manifest."""
    available = parts()
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--only", nargs="+", choices=list(available), default=list(available), help="parts to rebuild")
    parser.add_argument("--work", default=str(ROOT / "runs" / "docs-assets"), help="scratch folder for the runs")
    parser.add_argument(
        "--resume",
        action="store_true",
        help="keep the scratch folder: finished runs are reused, interrupted ones resume (default: start afresh)",
    )
    args = parser.parse_args(argv)
    manifest = json.loads(MANIFEST.read_text()) if MANIFEST.exists() else {}
    for name in args.only:
        work = pathlib.Path(args.work)
        if (work / name).exists() and not args.resume:
            shutil.rmtree(work / name)
        started = time.monotonic()
        entry = available[name](work / name)
        entry.update(
            date=datetime.date.today().isoformat(),
            machine=machine(),
            commit=commit(),
            minutes=round((time.monotonic() - started) / 60, 1),
        )
        manifest[name] = entry
        MANIFEST.parent.mkdir(parents=True, exist_ok=True)
        MANIFEST.write_text(json.dumps(manifest, indent=2, sort_keys=True) + "\n")
        print(f"{name}: done in {entry['minutes']} min")


if __name__ == "__main__":
    main()
