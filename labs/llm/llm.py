# %% [markdown]
# # Lab 3: large language models — a GPT from the lecture layers, LoRA fine-tuning, a judge, scaling laws
#
# MIT 6.S191 with the `mit_dl` companion package. MIT's third lab fine-tunes a pretrained LLM with
# LoRA on answers written in a character's voice, takes the loss on the answer tokens only, and asks
# a judge whether the answers sound right. Here every piece is yours or the course's: a byte-level
# BPE tokenizer learned from Python's own documentation, a GPT built from the lecture's
# `TransformerBlock`, pretraining, LoRA, sampling, a style judge, and the scaling laws of CSC413.
# Everything runs offline on a laptop CPU; `QUICK = True` keeps each run to seconds. A checker from
# `mit_dl.labs.llm` follows each exercise and names the usual mistake.

# %%
from mit_dl.environment import quiet_tensorflow_startup

quiet_tensorflow_startup()  # TensorFlow without its C++ start-up lines (errors still show)

import pathlib

import numpy as np

from mit_dl import labs
from mit_dl.labs import llm as checks
from mit_dl.llm import data, finetune, generate, memory, scaling, styles, train
from mit_dl.llm.config import FinetuneConfig, GPTConfig
from mit_dl.llm.judge import StyleJudge
from mit_dl.llm.model import build_gpt

QUICK = labs.quick_mode()
OUT = pathlib.Path("llm_outputs")
OUT.mkdir(exist_ok=True)

# %% [markdown]
# ## 3.1 Byte-pair encoding, one merge by hand
#
# A BPE tokenizer starts from single symbols (GPT-2's: the 256 bytes) and learns merges: count every
# adjacent pair in the corpus, **each occurrence weighted by how often its word occurs**, merge the
# most frequent pair into a new symbol everywhere (left to right, occurrences do not overlap), and
# repeat until the vocabulary is full.
#
# **Exercise:** `words` maps each word, a tuple of symbols, to its count. Return the most frequent
# pair (ties: the pair that sorts first) and the words after merging it.


# %%
def merge_step(words):
    # TODO: count the adjacent pairs weighted by the words' counts; merge the most frequent one in every word
    ### BEGIN SOLUTION
    counts = {}
    for word, count in words.items():
        for pair in zip(word, word[1:]):
            counts[pair] = counts.get(pair, 0) + count
    best = min(counts, key=lambda pair: (-counts[pair], pair))
    merged = {}
    for word, count in words.items():
        out, i = [], 0
        while i < len(word):
            if i + 1 < len(word) and (word[i], word[i + 1]) == best:
                out.append(word[i] + word[i + 1])
                i += 2
            else:
                out.append(word[i])
                i += 1
        merged[tuple(out)] = count
    return best, merged
    ### END SOLUTION


checks.check_bpe_merge(merge_step)

# %% [markdown]
# The library (Hugging Face `tokenizers`) does the same thousands of times in Rust. The lab's
# tokenizer learns 512 tokens from Python's documentation; every text decodes back exactly, and
# `GraphTokenizer`, its twin in TensorFlow ops, gives the same ids inside an exported model.

# %%
config = GPTConfig.from_preset(
    "quick",
    vocab_size=512,
    context=64,
    d_model=64,
    num_heads=4,
    num_layers=2,
    ff_dim=256,
    steps=100 if QUICK else 1200,
    warmup_steps=20,
)
corpus = data.load_data(config)
tokenizer = corpus.tokenizer
sentence = "The interpreter reads a module's source once."
ids = tokenizer.encode(sentence)
print(len(sentence), "characters ->", len(ids), "tokens:", [tokenizer.decode([i]) for i in ids])
assert tokenizer.decode(ids) == sentence

# %% [markdown]
# ## 3.2 The causal mask
#
# A decoder predicts token `t + 1` from tokens `0..t`, so position `i` may attend to positions
# `j <= i` and never to later ones: the attention scores above the diagonal are set to `-inf`
# before the softmax.
#
# **Exercise:** return the `[n, n]` boolean mask, True where query `i` may attend to key `j`.


# %%
def causal_mask(n):
    # TODO: True on and below the diagonal
    ### BEGIN SOLUTION
    return np.tril(np.ones((n, n), dtype=bool))
    ### END SOLUTION


checks.check_causal_mask(causal_mask)

# %% [markdown]
# The lab's GPT is the lecture's decoder: token embeddings (tied with the output layer, as GPT-2),
# learned positions, `TransformerBlock` x N with that mask, a final layer norm. Changing the later
# tokens leaves the earlier logits exactly as they were:

# %%
model = build_gpt(config, tokenizer.vocab_size)
tokens = np.array([ids[:12]], dtype="int32")
changed = tokens.copy()
changed[0, 6:] = 0
print("logits of positions 0-5 unchanged:", np.array_equal(model(tokens)[0, :6], model(changed)[0, :6]))

# %% [markdown]
# ## 3.3 Pretraining
#
# `train.train` trains the GPT with AdamW, a warm-up and a cosine decay, clipping, checkpoints that
# resume, and reports bits per character on held-out documents beside a 5-gram Kneser-Ney model:
# the baseline a language model must beat.

# %%
metrics = train.train(config, OUT / "pretrain", export=False, log=print)
base_run = OUT / "pretrain"

# %% [markdown]
# ## 3.4 The loss on the answer only
#
# Fine-tuning data are conversations in a template, `<|user|>prompt<|assistant|>answer<|endoftext|>`.
# The model should learn to *answer*, so the loss counts only the answer's tokens (and the end
# token): the prompt is read, not learned. Two details make it right: `logits[:, t]` predict
# `tokens[:, t + 1]` (shift the targets by one, and the mask with them), and the mean is taken over
# the answer tokens, not over every position.
#
# **Exercise:** `logits [B, T, V]`, `tokens [B, T]`, `answer [B, T]` (1 on the answer's tokens).
# Return the mean cross-entropy of the answer tokens.


# %%
def answer_loss(logits, tokens, answer):
    # TODO: shift (logits[:, :-1] predict tokens[:, 1:]), mask with answer[:, 1:], mean over the answer tokens
    ### BEGIN SOLUTION
    logits, targets, mask = logits[:, :-1], tokens[:, 1:], answer[:, 1:]
    z = logits - logits.max(axis=-1, keepdims=True)
    log_probs = z - np.log(np.exp(z).sum(axis=-1, keepdims=True))
    per_token = -np.take_along_axis(log_probs, targets[..., None], axis=-1)[..., 0]
    return (per_token * mask).sum() / mask.sum()
    ### END SOLUTION


checks.check_answer_loss(answer_loss)

# %% [markdown]
# ## 3.5 LoRA
#
# LoRA freezes a pretrained kernel `W` and learns a rank-`r` update: `y = x W + b + (alpha / r) (x A) B`,
# `A` random and `B` zeros, so training starts exactly at the base model and trains
# `r (d_in + d_out)` numbers per matrix instead of `d_in d_out`.
#
# **Exercise:** the forward pass.


# %%
def lora_forward(x, W, b, A, B, alpha, rank):
    # TODO: the frozen layer plus the scaled low-rank update
    ### BEGIN SOLUTION
    return x @ W + b + (alpha / rank) * (x @ A @ B)
    ### END SOLUTION


checks.check_lora_forward(lora_forward)

# %% [markdown]
# Now teach the pretrained GPT a voice it has never read: each prompt is a sentence of the
# documentation, each answer the same sentence as a pirate says it. LoRA (rank 8 on the query and
# value projections, Hu et al.'s choice) and full fine-tuning, measured on held-out answers:

# %%
style_file = styles.write_examples(styles.pirate_examples(), OUT / "pirate.jsonl")
steps = 30 if QUICK else 300
results = {}
for method in ("lora", "full"):
    tuned = FinetuneConfig(base=str(base_run), data=str(style_file), method=method, steps=steps, warmup_steps=5)
    results[method] = finetune.finetune(tuned, OUT / f"finetune-{method}", export=method == "lora", log=print)
for method, result in results.items():
    loss = result["answer_cross_entropy"]
    print(
        f"{method}: {100 * result['trained_share']:.1f}% of the weights, answers {loss['base']:.2f} -> {loss['finetuned']:.2f}"
    )

# %% [markdown]
# ## 3.6 Sampling: temperature and top-p
#
# Nucleus sampling draws among the fewest likeliest tokens whose probabilities sum to at least `p`:
# sort the probabilities, keep each token while the mass of the tokens ranked above it is below `p`
# (the likeliest token always stays).
#
# **Exercise:** return the boolean mask of the kept tokens for `logits [V]`.


# %%
def top_p_keep(logits, p):
    # TODO: softmax, sort descending, keep while the mass above each token is below p
    ### BEGIN SOLUTION
    order = np.argsort(-logits)
    probabilities = np.exp(logits[order] - logits.max())
    probabilities /= probabilities.sum()
    above = np.cumsum(probabilities) - probabilities
    kept = np.zeros(len(logits), dtype=bool)
    kept[order[above < p]] = True
    return kept
    ### END SOLUTION


checks.check_top_p(top_p_keep)

# %% [markdown]
# The exported model holds its tokenizer and the key/value-cache sampler: text in, text out, from a
# process that does not import `mit_dl`. The LoRA model answers a held-out prompt:

# %%
prompt = "<|user|>The module is imported once.<|assistant|>"
for text in generate.generate(OUT / "finetune-lora", prompt, 30, 0.8, seeds=[0, 1], top_p=0.9):
    print(repr(text))

# %% [markdown]
# A judge says whether an answer is in the voice. `StyleJudge` learns pirate answers against lines
# of the documentation (its own held-out accuracy says how far to trust it);
# `mit-dl llm compare` asks it about the base, LoRA and full models' generations.

# %%
pirate_lines = [answer for _, answer in styles.pirate_examples()]
plain = styles.documentation_sentences()
judge = StyleJudge.fit(pirate_lines, plain, epochs=100)
print(f"judge accuracy on held-out lines: {100 * judge.accuracy:.1f}%")
print(judge.score(["Ye be importin' th' module, matey. Arr!", "The module is imported once."]).round(2))

# %% [markdown]
# ## 3.7 Scaling laws
#
# Kaplan et al. found the held-out loss falling as a power of the model's size, `L = a N^(-alpha)`
# (plus a floor the data sets). A power law is a straight line on log-log axes:
# `log L = log a - alpha log N`.
#
# **Exercise:** fit that line and return `(a, alpha)`.


# %%
def fit_power_law(N, loss):
    # TODO: a straight line through (log N, log loss); a = exp(intercept), alpha = -slope
    ### BEGIN SOLUTION
    slope, intercept = np.polyfit(np.log(N), np.log(loss), 1)
    return np.exp(intercept), -slope
    ### END SOLUTION


checks.check_power_law_fit(fit_power_law)

# %% [markdown]
# Five GPTs of growing size on the same tokens (`mit-dl llm scaling` runs the full sweep, with the
# data and compute families and a bootstrap interval for the exponent):

# %%
sweep_config = config.replace(steps=60 if QUICK else 600, warmup_steps=10)
sizes = ((16, 1), (32, 1), (32, 2), (64, 2), (96, 3))
points = scaling.train_sizes(sweep_config, OUT / "scaling", sizes)
weights = np.array([p["weights"] for p in points])
losses = np.array([p["loss"] for p in points])
a, alpha = fit_power_law(weights, losses)
print("N:", weights.tolist())
print("loss:", losses.round(3).tolist(), f"-> alpha {alpha:.3f}")

# %% [markdown]
# ## 3.8 Memory on many devices
#
# Training with Adam keeps the weights, their gradients and two moments per weight, plus the
# activations of the batch. Data parallelism copies all of it to every device; ZeRO / FSDP split
# the optimizer state, the gradients, then the weights; tensor parallelism splits every matrix:

# %%
print(memory.memory_table(GPTConfig.from_preset("full"), devices=8))

# %% [markdown]
# ## 3.9 Further
#
# - `mit-dl llm train --data ../shared/data/shakespeare` pretrains on 42 works of Shakespeare;
#   the docs page compares its bits per character with the n-gram's and nanoGPT's.
# - `mit-dl llm finetune --method lora|full`, then `mit-dl llm compare`: the style loss, the judged
#   share in the style and template adherence side by side.
# - `mit_dl.layers.LoRADense` is LoRA as a lecture layer, equal to Keras' own `enable_lora`.
