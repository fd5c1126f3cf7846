"""The LLM lab's part of ``mit-dl demo``: a BPE and a small GPT on Python's docs, then LoRA teaches it a voice."""

import time

import numpy as np
import tensorflow as tf

from mit_dl.llm import data, styles
from mit_dl.llm.config import GPTConfig
from mit_dl.llm.evaluate import held_out_report
from mit_dl.llm.finetune import answer_cross_entropy
from mit_dl.llm.model import build_gpt, compile_gpt, enable_lora
from mit_dl.networks.decoder import RecomputeSampler, TransformerSampler
from mit_dl.training import Trainer

DEMO_CONFIG = dict(vocab_size=512, context=64, d_model=64, num_heads=4, num_layers=2, ff_dim=256, batch_size=16)


def _sampler_speed(model, length=200):
    """Seconds of the cached and of the recomputing sampler for ``length`` tokens (after a warm-up call)."""
    args = (tf.constant([[0]], tf.int32), tf.constant(length), tf.constant(1.0), tf.constant([0], tf.int64))
    extra = (tf.constant(0), tf.constant(1.0), tf.constant(-1))
    seconds = []
    for sampler in (TransformerSampler(model), RecomputeSampler(model)):
        sampler.generate_tokens(*args, *extra)
        start = time.perf_counter()
        sampler.generate_tokens(*args, *extra)
        seconds.append(time.perf_counter() - start)
    return seconds


def run(out_dir, steps, seed, log, earlier):
    """Pretrain a 2-block GPT for ``steps`` steps on Python's docs, then LoRA on pirate answers; time the sampler.

    Args:
        out_dir: the part's folder.
        steps: pretraining steps (LoRA trains a fifth as many).
        seed: the seed of the weights and the data order.
        log: where progress lines go.
        earlier: the figures of the parts run before (unused).

    Returns:
        The held-out bits per character, the pirate answers' loss before and after LoRA, the sampler's speed-up.
    """
    out_dir.mkdir(parents=True, exist_ok=True)
    config = GPTConfig.from_preset("quick", steps=steps, seed=seed, warmup_steps=min(50, steps // 5), **DEMO_CONFIG)
    corpus = data.load_data(config)
    log(
        f"llm: a byte-level BPE of {corpus.tokenizer.vocab_size} tokens on Python's docs "
        f"({len(corpus.train_ids):,} tokens)"
    )
    model = compile_gpt(
        build_gpt(config, corpus.tokenizer.vocab_size), config.learning_rate, steps, config.warmup_steps
    )
    Trainer(model, verbose=False).fit(
        data.windows(corpus.train_ids, config.context, config.batch_size, seed), steps=steps
    )
    report = held_out_report(model, corpus.tokenizer, corpus.val_ids, config.context)
    log(
        f"  a GPT of {model.count_params():,} weights, {steps} steps: {report['bits_per_character']:.2f} bits per "
        "held-out character"
    )
    examples = styles.pirate_examples(seed=seed)
    arrays = data.encode_examples(corpus.tokenizer, examples, config.context)[:3]
    test = [a[:50] for a in arrays]
    before = answer_cross_entropy(model, *test)
    trained, total = enable_lora(model, 8, 16, ("query", "value"))
    compile_gpt(model, 2e-3, max(1, steps // 5), 10, weight_decay=0.0)
    lora_data = (
        tf.data.Dataset.from_tensor_slices((arrays[0][50:], (arrays[1][50:], arrays[2][50:])))
        .shuffle(600, seed=seed)
        .batch(16)
    )
    Trainer(model, verbose=False).fit(lora_data, steps=max(1, steps // 5))
    after = answer_cross_entropy(model, *test)
    log(
        f"  LoRA ({100 * trained / total:.1f}% of the weights) on {len(examples) - 50} pirate answers: held-out "
        f"answers {before:.2f} -> {after:.2f} nats per token"
    )
    cached, recomputed = _sampler_speed(model)
    log(f"  200 tokens: key/value cache {cached:.2f} s, recomputing the window {recomputed:.2f} s")
    return {
        "bits_per_character": report["bits_per_character"],
        "pirate_loss_before": before,
        "pirate_loss_after": after,
        "sampler_speedup": recomputed / cached,
        "weights": int(np.sum([np.prod(v.shape) for v in model.weights])),
    }
