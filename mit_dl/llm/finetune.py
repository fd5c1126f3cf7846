"""Fine-tune a pretrained GPT to a style with the loss on the answer tokens only: LoRA or every weight.

MIT's Lab 3 in Keras: the base model reads each example in the chat
template (`mit_dl.llm.data.format_example`) and learns only its answer (the
prompt and template tokens are masked out of the loss). ``lora`` freezes
the base and trains a rank-``r`` update of the attention projections (query and
value by default; `mit_dl.layers.LoRADense`'s formula); ``full`` trains every weight.

``finetune`` writes a run directory: ``tokenizer.json`` (the base's),
``checkpoints/``, ``logs/``, ``settings.json``, ``adapter.npz`` (LoRA: the
``A`` and ``B`` matrices alone, with the shapes of the base they fit),
``metrics.json`` (the held-out examples' answer cross-entropy before and
after, the share of weights trained) and ``saved_model/`` (the adapter
merged: the same endpoints as a pretrained model).
"""

import json
import pathlib

import numpy as np
import tensorflow as tf

from mit_dl.errors import ConfigError
from mit_dl.llm import data
from mit_dl.llm.config import GPTConfig
from mit_dl.llm.model import build_gpt, compile_gpt, enable_lora, lora_weights, merge_lora
from mit_dl.llm.tokenizer import Tokenizer
from mit_dl.llm.train import export_model
from mit_dl.training import Run, Trainer, checkpoints
from mit_dl.training.runs import read_settings

ADAPTER_FILE = "adapter.npz"


def is_run(path):
    """Whether ``path`` is a run directory (it holds ``settings.json``).

    Args:
        path: a folder, or any string (a preset name).

    Returns:
        A bool.
    """
    return (pathlib.Path(path) / "settings.json").is_file()


def load_base(base):
    """The base a fine-tuning run adapts: a pretraining run, or a keras-hub GPT-2 preset.

    Args:
        base: a run directory of `mit_dl.llm.train.train`, a keras-hub preset name or handle
            (``gpt2_base_en``, ``hf://...``: internet the first time) or a local preset folder.

    Returns:
        ``(model, config, tokenizer)``.

    Raises:
        ConfigError: it is neither (one sentence).
    """
    if is_run(base):
        return load_pretrained(base)
    from mit_dl.llm.hub import load_preset

    return load_preset(str(base))


def load_pretrained(run_dir):
    """The GPT a pretraining run trained, with its config and tokenizer.

    Args:
        run_dir: a directory `mit_dl.llm.train.train` wrote.

    Returns:
        ``(model, config, tokenizer)``.

    Raises:
        ConfigError: the folder is not a pretraining run with a checkpoint.
    """
    run_dir = pathlib.Path(run_dir)
    if not (run_dir / "settings.json").is_file():
        raise ConfigError(
            "base", f"{run_dir} is not a run directory of `mit-dl llm train` (no settings.json); give one, or a preset"
        )
    lab, values = read_settings(run_dir)
    if lab != "llm" or "vocab_size" not in values:
        raise ConfigError("base", f"{run_dir} is not a pretraining run of `mit-dl llm train`; give one")
    tokenizer = Tokenizer.load(run_dir)
    config = GPTConfig(**{k: v for k, v in values.items() if k in GPTConfig.__dataclass_fields__})
    restored = build_gpt(config, tokenizer.vocab_size)
    if checkpoints.restore_newest_readable(tf.train.Checkpoint(model=restored), run_dir / "checkpoints") is None:
        raise ConfigError("base", f"{run_dir} holds no checkpoint yet; train it first")
    # A fresh copy: the checkpoint also holds the pretraining optimizer, whose step count and moments a
    # deferred restore would hand to the fine-tuning optimizer once it is attached to the restored model.
    model = build_gpt(config, tokenizer.vocab_size)
    model.set_weights(restored.get_weights())
    return model, config, tokenizer


def examples_split(examples, held_out, seed):
    """Shuffle the examples with ``seed`` and hold out a share of them.

    Args:
        examples: ``(prompt, response)`` pairs.
        held_out: the share held out (at least one example each side).
        seed: the shuffling seed.

    Returns:
        ``(train, held_out)`` lists.
    """
    if len(examples) < 2:
        raise ConfigError("data", f"holds {len(examples)} example; give at least 2 (one is held out)")
    order = np.random.default_rng(seed).permutation(len(examples))
    count = min(max(1, round(held_out * len(examples))), len(examples) - 1)
    return [examples[i] for i in order[count:]], [examples[i] for i in order[:count]]


def answer_cross_entropy(model, tokens, targets, mask, batch_size=32):
    """Mean cross-entropy (nats) over every answer token of the examples (the course's style loss).

    Args:
        model: the GPT.
        tokens: ``[N, context]`` inputs.
        targets: ``[N, context]`` next tokens.
        mask: ``[N, context]``, 1 on the answers' targets.
        batch_size: examples per call.

    Returns:
        A float.
    """
    total, count = 0.0, float(mask.sum())
    for start in range(0, len(tokens), batch_size):
        logits = model(tf.constant(tokens[start : start + batch_size]), training=False)
        losses = tf.nn.sparse_softmax_cross_entropy_with_logits(
            targets[start : start + batch_size], tf.cast(logits, tf.float32)
        )
        total += float(tf.reduce_sum(losses * mask[start : start + batch_size]))
    return total / max(count, 1.0)


def _dataset(arrays, batch_size, seed):
    tokens, targets, mask = arrays
    data_set = tf.data.Dataset.from_tensor_slices((tokens, (targets, mask)))
    return data_set.shuffle(len(tokens), seed=seed, reshuffle_each_iteration=True).batch(batch_size)


def _prepare(model, config):
    """Make the model train what the method says; ``(trained, total)`` parameter counts."""
    if config.method == "lora":
        return enable_lora(model, config.rank, config.alpha, config.adapted())
    total = model.count_params()
    return total, total


def finetune(config, out_dir="runs/llm-finetune", export=True, log=print):
    """Fine-tune ``config.base`` on ``config.data``, measure the answers' loss before and after, export.

    Args:
        config: a `FinetuneConfig`.
        out_dir: the run directory.
        export: also write ``saved_model/`` (adapter merged).
        log: where progress lines go.

    Returns:
        The metrics written to ``metrics.json``.
    """
    model, base_config, tokenizer = load_base(config.base)
    train_examples, test_examples = examples_split(data.read_examples(config.data), config.held_out, config.seed)
    train_arrays = data.encode_examples(tokenizer, train_examples, base_config.context)
    test_arrays = data.encode_examples(tokenizer, test_examples, base_config.context)
    log(f"data: {len(train_examples)} examples to learn, {len(test_examples)} held out ({train_arrays[3]} cut)")
    before = answer_cross_entropy(model, *test_arrays[:3])
    run = Run.start(out_dir, config, lab="llm", log=log)
    tokenizer.save(run.path)
    with run.scope():
        trained, total = _prepare(model, config)
        compile_gpt(model, config.rate(), config.steps, config.warmup_steps, weight_decay=0.0)
        trainer = Trainer(model, strategy=run.strategy, checkpoint_dir=run.checkpoints, log_dir=run.logs)
        history = trainer.fit(_dataset(train_arrays[:3], config.batch_size, config.seed), steps=config.steps)
    after = answer_cross_entropy(model, *test_arrays[:3])
    log(
        f"held-out answers: {before:.3f} -> {after:.3f} nats per token "
        f"({config.method}: {trained:,} of {total:,} weights trained)"
    )
    if config.method == "lora":
        save_adapter(model, run.path / ADAPTER_FILE)
        merge_lora(model)
    metrics = {
        "method": config.method,
        "trained_parameters": trained,
        "parameters": total,
        "trained_share": trained / total,
        "history": history,
        "held_out_examples": len(test_examples),
        "answer_cross_entropy": {"base": before, "finetuned": after},
    }
    if export:
        export_model(model, tokenizer, run, {"kind": "language model", "finetuned_from": str(config.base)})
    return run.write_metrics(metrics)


def save_adapter(model, path):
    """Write the LoRA matrices alone (a small file), with the shapes of the kernels they adapt.

    Args:
        model: a GPT after `mit_dl.llm.model.enable_lora`.
        path: the ``.npz`` file.

    Returns:
        The path.
    """
    kernels = {v.path: list(v.shape) for v in model.weights if v.path.endswith("_kernel")}
    np.savez(path, **{k.replace("/", "|"): v for k, v in lora_weights(model).items()}, base=json.dumps(kernels))
    return path


def load_adapter(model, path):
    """Load an adapter `save_adapter` wrote into a LoRA-enabled GPT of the same base shapes.

    Args:
        model: a GPT after `mit_dl.llm.model.enable_lora` with the adapter's rank.
        path: the ``.npz`` file.

    Returns:
        None.

    Raises:
        ConfigError: the adapter was trained on a base of other shapes (or another rank).
    """
    stored = np.load(path)
    kernels = {v.path: list(v.shape) for v in model.weights if v.path.endswith("_kernel")}
    mine = {v.path.replace("/", "|"): v for v in model.weights if "_lora_" in v.path}
    theirs = {k: stored[k] for k in stored.files if k != "base"}
    if json.loads(str(stored["base"])) != kernels or set(theirs) != set(mine):
        raise ConfigError("base", f"the adapter {path} was trained on a base model of other shapes; give its own base")
    for name, value in theirs.items():
        if tuple(mine[name].shape) != value.shape:
            raise ConfigError("rank", f"the adapter {path} has rank {value.shape}; enable LoRA with its rank")
        mine[name].assign(value)
