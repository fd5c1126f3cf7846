"""The LLM lab's costs side by side in one run: LoRA against full fine-tuning, the cached sampler, the tokenizer.

Run: python -m benchmarks.llm [--repeats 5] [--iterations 10] [--tokens 1000] [--sampler-presets quick full]

- One compiled fine-tuning step of the ``quick`` GPT (4 blocks of 128, context 128, batch 16,
  the answer-only loss) with LoRA (rank 8 on the query and value projections) against every weight
  training; and the bytes of what training adds per weight trained (its gradient and Adam's two
  moments), counted from the variables (on a GPU also the measured peak).
- Sampling ``--tokens`` tokens from the ``quick`` GPT and from the ``full`` one (6 blocks of 384,
  context 256): the key/value-cache sampler against recomputing the window for every token (both
  slide the window the same way and draw the same tokens), and the cache with each step compiled
  by XLA. The cache removes the recomputation, not the graph executor's fixed cost per operation,
  which XLA removes; the cache's gain grows with the model.
- Tokenizing Python's documentation: the library (Hugging Face ``tokenizers``, Rust) against
  its TensorFlow twin that exports carry (`GraphTokenizer`).

Results: benchmarks/results/llm.json.
"""

import argparse
import time

from mit_dl.environment import quiet_tensorflow_startup

quiet_tensorflow_startup()  # before TensorFlow prints its C++ start-up lines

import keras  # noqa: E402
import numpy as np  # noqa: E402
import tensorflow as tf  # noqa: E402

from benchmarks.timing import alternate, ratio_row, write_results  # noqa: E402
from mit_dl.llm import data  # noqa: E402
from mit_dl.llm.config import GPTConfig  # noqa: E402
from mit_dl.llm.model import build_gpt, compile_gpt, enable_lora, token_loss  # noqa: E402
from mit_dl.llm.tokenizer import GraphTokenizer  # noqa: E402
from mit_dl.networks.decoder import RecomputeSampler, TransformerSampler  # noqa: E402

# `python -m benchmarks --quick`: a small run of every part, seconds on 2 CPU cores.
QUICK = ["--repeats", "1", "--iterations", "2", "--tokens", "200", "--sampler-presets", "quick"]


def _gpt(config, method):
    keras.utils.set_random_seed(0)
    model = build_gpt(config, config.vocab_size)
    model(tf.zeros((1, 1), tf.int32))
    trained = enable_lora(model, 8, 16, ("query", "value"))[0] if method == "lora" else model.count_params()
    compile_gpt(model, 1e-3, 1000, 10, weight_decay=0.0)
    return model, trained


def fine_tuning_step(config, method, batch):
    """A compiled step of the answer-only loss; ``(step, weights trained)``."""
    model, trained = _gpt(config, method)
    tokens, targets, mask = batch
    optimizer = model.optimizer

    @tf.function
    def step():
        with tf.GradientTape() as tape:
            loss = tf.reduce_mean(token_loss((targets, mask), model(tokens, training=True)))
        variables = model.trainable_variables
        optimizer.apply_gradients(zip(tape.gradient(loss, variables), variables))
        return loss

    return (lambda: step().numpy()), trained


def sampler_contenders(config, tokens):
    """Sampling ``tokens`` tokens: the cached sampler and the recomputing one, after a warm-up call each."""
    keras.utils.set_random_seed(0)
    model = build_gpt(config, config.vocab_size)
    args = (tf.constant([[0]], tf.int32), tf.constant(tokens), tf.constant(1.0), tf.constant([0], tf.int64))
    args += (tf.constant(0), tf.constant(1.0), tf.constant(-1))
    samplers = {
        "key/value cache": TransformerSampler(model),
        "key/value cache, XLA steps": TransformerSampler(model, jit_compile=True),
        "recomputing the window": RecomputeSampler(model),
    }
    return {name: (lambda s=sampler: s.generate_tokens(*args).numpy()) for name, sampler in samplers.items()}


def tokenizer_rates(corpus, repeats):
    """Characters per second of the library and of its TensorFlow twin on the held-out documents."""
    texts = [corpus.val_text[i : i + 2000] for i in range(0, len(corpus.val_text), 2000)]
    graph = GraphTokenizer(corpus.tokenizer)
    graph.encode(tf.constant(texts[0]))
    rates = {}
    for name, encode in (
        ("Hugging Face tokenizers", lambda: corpus.tokenizer.encode_many(texts)),
        ("GraphTokenizer (TensorFlow ops)", lambda: [graph.encode(tf.constant(t)) for t in texts]),
    ):
        best = min(_seconds(encode) for _ in range(repeats))
        rates[name] = sum(map(len, texts)) / best
    return rates


def _seconds(function):
    start = time.perf_counter()
    function()
    return time.perf_counter() - start


def headline(results):
    """The table's rows: LoRA's step against full fine-tuning, the cache against recomputing, the tokenizer."""
    step = results["fine_tuning_step_seconds"]
    rates = results["tokenizer_characters_per_second"]
    return [
        ratio_row(
            "fine-tuning step, quick GPT", ("LoRA r=8", step["lora"]), ("every weight", step["full"]), "s", False
        ),
        *(
            ratio_row(
                f"sampling {results['tokens']} tokens, {preset} GPT",
                (cached, sampler[cached]),
                ("recomputing the window", sampler["recomputing the window"]),
                "s",
                False,
            )
            for preset, sampler in results["sampling_seconds"].items()
            for cached in ("key/value cache", "key/value cache, XLA steps")
        ),
        ratio_row(
            "tokenizing text",
            ("GraphTokenizer", rates["GraphTokenizer (TensorFlow ops)"]),
            ("Hugging Face tokenizers", rates["Hugging Face tokenizers"]),
            "chars/s",
            True,
        ),
    ]


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=5)
    parser.add_argument("--iterations", type=int, default=10)
    parser.add_argument("--tokens", type=int, default=1000)
    parser.add_argument("--sampler-presets", nargs="+", default=["quick", "full"], choices=["quick", "full"])
    args = parser.parse_args()
    config = GPTConfig.from_preset("quick")
    corpus = data.load_data(config)
    rng = np.random.default_rng(0)
    tokens = rng.integers(3, config.vocab_size, (config.batch_size, config.context + 1)).astype("int32")
    mask = (np.arange(config.context)[None] >= config.context // 2).astype("int32").repeat(config.batch_size, 0)
    batch = (tf.constant(tokens[:, :-1]), tf.constant(tokens[:, 1:]), tf.constant(mask))
    steps, trained = {}, {}
    for method in ("lora", "full"):
        steps[method], trained[method] = fine_tuning_step(config, method, batch)
    seconds = alternate(steps, repeats=args.repeats, iterations=args.iterations, warmup=2)
    # What training keeps per trained weight: its gradient and Adam's two moments (float32).
    training_bytes = {method: 3 * 4 * count for method, count in trained.items()}
    print(
        f"fine-tuning step (ms): LoRA {1000 * seconds['lora']:.1f}, every weight {1000 * seconds['full']:.1f} "
        f"({seconds['full'] / seconds['lora']:.2f}x); weights trained {trained['lora']:,} against {trained['full']:,}; "
        f"gradients + Adam state {training_bytes['lora'] / 2**20:.2f} MiB against "
        f"{training_bytes['full'] / 2**20:.2f} MiB"
    )
    sampling = {}
    for preset in args.sampler_presets:
        contenders = sampler_contenders(GPTConfig.from_preset(preset), args.tokens)
        sampling[preset] = alternate(contenders, repeats=args.repeats, iterations=1, warmup=1)
        print(
            f"sampling {args.tokens} tokens, {preset} GPT (s): "
            + ", ".join(f"{name} {seconds:.2f}" for name, seconds in sampling[preset].items())
        )
    rates = tokenizer_rates(corpus, args.repeats)
    print("tokenizing (characters/s): " + ", ".join(f"{name} {rate:,.0f}" for name, rate in rates.items()))
    write_results(
        "llm",
        {
            "model": {k: getattr(config, k) for k in ("d_model", "num_layers", "context", "batch_size", "vocab_size")},
            "fine_tuning_step_seconds": seconds,
            "weights_trained": trained,
            "gradient_and_adam_bytes": training_bytes,
            "tokens": args.tokens,
            "sampling_seconds": sampling,
            "tokenizer_characters_per_second": rates,
        },
    )


if __name__ == "__main__":
    main()
