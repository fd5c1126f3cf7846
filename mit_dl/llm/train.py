"""Pretrain a GPT on a corpus: tokenizer, training, held-out report beside the n-gram baseline, export.

``train`` writes a run directory: ``tokenizer.json`` (the byte-level BPE),
``checkpoints/``, ``logs/``, ``settings.json``, ``metrics.json`` (held-out
cross-entropy per token, bits per character, the Kneser-Ney baseline's bits
per character on the same text) and the SavedModel ``saved_model/`` with
``generate``, ``generate_nucleus`` and ``score`` (`mit_dl.llm.endpoints`),
the tokenizer inside. Training again into the same directory resumes it
(SIGKILL included) with the same tokenizer.

Example (a notebook)::

    from mit_dl.llm import GPTConfig, train
    metrics = train.train(GPTConfig.from_preset("quick", steps=100), "runs/llm-try")
"""

import pathlib

from mit_dl.export import export_savedmodel
from mit_dl.llm import data
from mit_dl.llm.config import GPTConfig
from mit_dl.llm.endpoints import llm_endpoints
from mit_dl.llm.evaluate import held_out_report, ngram_baseline
from mit_dl.llm.model import build_gpt, compile_gpt
from mit_dl.llm.tokenizer import FILE_NAME, Tokenizer
from mit_dl.training import Run, Trainer

NGRAM_ORDER = 5


def _corpus(config, out_dir, log):
    """The corpus, tokenized with the run's saved tokenizer when resuming, else a new one."""
    saved = Tokenizer.load(out_dir) if (pathlib.Path(out_dir) / FILE_NAME).is_file() else None
    corpus = data.load_data(config, tokenizer=saved)
    log(
        f"data: {corpus.source}: {len(corpus.train_ids):,} training tokens, {len(corpus.val_ids):,} held-out "
        f"tokens ({', '.join(corpus.held_out)}), vocabulary {corpus.tokenizer.vocab_size}"
    )
    return corpus


def train(config=None, out_dir="runs/llm", export=True, baseline=True, log=print):
    """Pretrain the GPT of ``config``, report it on the held-out text beside the n-gram baseline, export it.

    Args:
        config: a `GPTConfig` (default: the ``quick`` preset on Python's documentation prose).
        out_dir: the run directory.
        export: also write ``saved_model/``.
        baseline: also fit and score the n-gram baseline (the scaling sweep's points do not).
        log: where progress lines go.

    Returns:
        The metrics written to ``metrics.json``.
    """
    config = config or GPTConfig.from_preset("quick")
    corpus = _corpus(config, out_dir, log)  # a bad corpus fails before the run directory is written
    run = Run.start(out_dir, config, lab="llm", log=log)
    corpus.tokenizer.save(run.path)
    with run.scope():
        model = compile_gpt(
            build_gpt(config, corpus.tokenizer.vocab_size),
            config.learning_rate,
            config.steps,
            config.warmup_steps,
            config.weight_decay,
            config.clip_norm,
        )
        trainer = Trainer(
            model,
            strategy=run.strategy,
            checkpoint_dir=run.checkpoints,
            checkpoint_every=config.checkpoint_every,
            log_dir=run.logs,
        )
        history = trainer.fit(
            data.windows(corpus.train_ids, config.context, config.batch_size, config.seed), steps=config.steps
        )
    report = held_out_report(model, corpus.tokenizer, corpus.val_ids, config.context)
    ngram = ngram_baseline(corpus.train_text, corpus.val_text, NGRAM_ORDER) if baseline else None
    compared = f" ({NGRAM_ORDER}-gram Kneser-Ney: {ngram['bits_per_character']:.3f})" if ngram else ""
    log(
        f"held-out: {report['cross_entropy']:.3f} nats per token, {report['bits_per_character']:.3f} bits per "
        f"character{compared}"
    )
    metrics = {
        "source": corpus.source,
        "held_out_documents": list(corpus.held_out),
        "parameters": model.count_params(),
        "history": history,
        "held_out": report,
        "ngram": ngram,
    }
    if export:
        export_model(model, corpus.tokenizer, run, {"kind": "language model", **_headline(metrics)})
    return run.write_metrics(metrics)


def _headline(metrics):
    headline = {"held_out_bits_per_character": metrics["held_out"]["bits_per_character"]}
    if metrics["ngram"]:
        headline["ngram_bits_per_character"] = metrics["ngram"]["bits_per_character"]
    return headline


def export_model(model, tokenizer, run, metadata):
    """Write ``saved_model/`` with the text endpoints and the tokenizer inside.

    Args:
        model: the GPT (a fine-tuned one with its adapters merged).
        tokenizer: its `Tokenizer`.
        run: the `Run`.
        metadata: facts for ``metadata.json`` (``kind`` first).

    Returns:
        The export's path.
    """
    endpoints, trackables = llm_endpoints(model, tokenizer)
    return export_savedmodel(
        model,
        run.path / "saved_model",
        endpoints=endpoints,
        metadata=run.export_metadata({**metadata, "vocab_size": tokenizer.vocab_size}),
        extra_trackables=trackables,
    )
