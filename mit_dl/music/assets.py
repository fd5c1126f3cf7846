"""The music lab's figures and song for the docs site (``python -m docs.build_assets --only music``)."""

from mit_dl.music import audio, generate, train
from mit_dl.music.config import GenerationConfig, MusicConfig

SONG_SECONDS = 20  # the page's song is cut to this length (about 0.9 MB at 22,050 Hz mono)


def build(work, site):
    """Train the `quick` LSTM, draw five songs and keep the first valid one's WAV (cut) and ABC text.

    Args:
        work: the scratch folder of the runs.
        site: the docs' asset writer (``docs/build_assets.py``'s `Site`).

    Returns:
        The manifest entry: the command, the files, the measured figures.
    """
    run_dir = work / "music-quick"
    metrics = train.train(MusicConfig.from_preset("quick"), run_dir)
    summary = generate.generate(run_dir / "generator", GenerationConfig(songs=5, seed=0), run_dir / "songs")
    files = [site.copy(run_dir / "training_curves.png")]
    played = next((e for e in summary["songs"] if e.get("valid") and (run_dir / "songs" / _wav(e)).exists()), None)
    if played is None:
        raise SystemExit(
            f"none of the five samples in {run_dir / 'songs'} held a valid song with audio; the page keeps its old one"
        )
    wave, rate = audio.read_wav(run_dir / "songs" / _wav(played))
    audio.write_wav(site.folder / "song.wav", wave[: SONG_SECONDS * rate], rate)
    files += [site.file("song.wav"), site.copy(run_dir / "songs" / _wav(played).replace(".wav", ".abc"), "song.abc")]
    song = {"sample": played["sample"], "seconds_total": len(wave) / rate, "seconds_kept": SONG_SECONDS}
    return {
        "command": "mit-dl music train --preset quick; mit-dl music generate --model RUN/generator --songs 5 --seed 0",
        "files": files,
        "held_out_bits_per_character": metrics["loss_per_character"]["val_bits"],
        "valid_songs": f"{summary['valid']}/{summary['attempts']}",
        "song": song,
    }


def _wav(entry):
    return f"song_{entry['sample']:02d}.wav"
