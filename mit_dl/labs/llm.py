"""Checkers for the LLM lab (MIT's Lab 3): a BPE merge, the causal mask, the answer-only loss, LoRA, top-p, power laws.

Each runs the learner's function on fixed inputs, compares it with the
equations and names the typical mistake when it differs: pairs counted once
per word instead of once per occurrence, a mask that lets a position read
the future, the loss taken on the prompt or without the one-token shift,
LoRA's factor ``alpha / r`` forgotten, a nucleus that drops the token that
crosses ``p``, a power law fitted on linear axes.
"""

import numpy as np

from mit_dl.labs.grading import Mistake, call_learner, checker, expect_shape, explain_mismatch, values

__all__ = [
    "check_bpe_merge",
    "check_causal_mask",
    "check_answer_loss",
    "check_lora_forward",
    "check_top_p",
    "check_power_law_fit",
]

_WORDS = {
    ("l", "o", "w"): 5,
    ("l", "o", "w", "e", "r"): 2,
    ("n", "e", "w", "e", "s", "t"): 6,
    ("w", "i", "d", "e", "s", "t"): 3,
    ("i", "d", "a"): 1,
    ("i", "d", "o"): 1,
    ("r", "i", "d"): 1,
    ("e", "e", "e"): 1,
}


def bpe_merge_step(words):
    """The reference: the most frequent adjacent pair (ties: the first in sorted order), merged everywhere.

    Args:
        words: ``{tuple of symbols: count}``.

    Returns:
        ``(pair, merged words)``; occurrences are merged left to right without overlapping.
    """
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


@checker
def check_bpe_merge(merge_step):
    """merge_step(words): the most frequent pair, counted with each word's frequency, merged in every word.

    Args:
        merge_step: the learner's ``merge_step({tuple of symbols: count}) -> (pair, new words)``.

    Returns:
        A `CheckResult`.
    """
    received = call_learner("merge_step(words)", merge_step, dict(_WORDS))
    if not (isinstance(received, tuple) and len(received) == 2):
        raise Mistake("merge_step should return (pair, new_words): the pair merged and the words after the merge.")
    pair, merged = received
    once = {}
    for word in _WORDS:
        for adjacent in set(zip(word, word[1:])):
            once[adjacent] = once.get(adjacent, 0) + 1
    if tuple(pair) != ("e", "s"):
        if tuple(pair) == min(once, key=lambda p: (-once[p], p)):
            raise Mistake(
                f"merged {tuple(pair)}, the pair found in most words; count each pair once per occurrence times "
                "the word's frequency: ('e', 's') appears in 'newest' (6) and 'widest' (3), 9 times in all."
            )
        raise Mistake(
            f"merged {tuple(pair)}; the most frequent pair is ('e', 's') (9 occurrences, weighted by counts)."
        )
    expected = bpe_merge_step(_WORDS)[1]
    if dict(merged) != expected:
        raise Mistake(f"the words after merging ('e', 's') should be {expected}, received {dict(merged)}.")
    _, triple = bpe_merge_step({("e", "e", "e"): 1})
    got = dict(call_learner("merge_step({('e', 'e', 'e'): 1})", merge_step, {("e", "e", "e"): 1})[1])
    if got != triple:
        raise Mistake(
            f"'e e e' with the merge ('e', 'e') should become {list(triple)[0]} (left to right, occurrences do not "
            f"overlap), received {list(got)}."
        )


@checker
def check_causal_mask(causal_mask):
    """causal_mask(n): position i may attend to positions j <= i (itself included), never to later ones.

    Args:
        causal_mask: the learner's ``causal_mask(n) -> [n, n]`` booleans (True: may attend).

    Returns:
        A `CheckResult`.
    """
    received = values(call_learner("causal_mask(5)", causal_mask, 5), "causal_mask(5)")
    expect_shape(received, (5, 5), "causal_mask(5)")
    expected = np.tril(np.ones((5, 5)))
    explain_mismatch(
        received != 0,
        expected,
        "causal_mask(5)",
        [
            (
                np.triu(np.ones((5, 5))),
                "the mask is transposed: row i (the query) may see columns j <= i, the lower "
                "triangle; the upper triangle lets every position read the future.",
            ),
            (
                np.tril(np.ones((5, 5)), -1),
                "the diagonal is masked: a position attends to itself too (j <= i), or "
                "the first position would attend to nothing.",
            ),
            (1 - np.tril(np.ones((5, 5))), "the mask is inverted: True marks the positions that may be attended."),
        ],
    )


_RNG = np.random.default_rng(11)
_LOGITS = _RNG.normal(size=(2, 6, 7))
_TOKENS = _RNG.integers(0, 7, size=(2, 6))
_ANSWER = np.array([[0, 0, 0, 1, 1, 1], [0, 0, 1, 1, 0, 0]])


def _cross_entropy(logits, targets):
    shifted = logits - logits.max(axis=-1, keepdims=True)
    log_probs = shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))
    return -np.take_along_axis(log_probs, targets[..., None], axis=-1)[..., 0]


def _answer_loss(shift=True, mask="answer", mask_shift=True, mean="answer"):
    """The mean cross-entropy of the answer tokens, or one of the typical mistakes."""
    if shift:
        per_token, answer = (
            _cross_entropy(_LOGITS[:, :-1], _TOKENS[:, 1:]),
            _ANSWER[:, 1:] if mask_shift else _ANSWER[:, :-1],
        )
    else:
        per_token, answer = _cross_entropy(_LOGITS, _TOKENS), _ANSWER
    weights = answer if mask == "answer" else np.ones_like(answer)
    return (per_token * weights).sum() / (weights.sum() if mean == "answer" else weights.size)


@checker
def check_answer_loss(answer_loss):
    """answer_loss(logits, tokens, answer): logits[:, t] predict tokens[:, t + 1]; the mean over answer tokens only.

    Args:
        answer_loss: the learner's ``answer_loss(logits [B, T, V], tokens [B, T], answer [B, T]) -> scalar``
            (``answer`` is 1 on the tokens of the answer).

    Returns:
        A `CheckResult`.
    """
    received = values(
        call_learner("answer_loss(logits, tokens, answer)", answer_loss, _LOGITS, _TOKENS, _ANSWER), "the loss"
    )
    explain_mismatch(
        received,
        _answer_loss(),
        "the answer-only loss",
        [
            (
                _answer_loss(shift=False),
                "the targets are not shifted: logits[:, t] predict the next token, "
                "tokens[:, t + 1]; compare logits[:, :-1] with tokens[:, 1:] (the off-by-one).",
            ),
            (
                _answer_loss(mask="all"),
                "the prompt tokens count too: multiply each token's loss by the answer mask "
                "(the course's key step: the model learns to answer, not to write prompts).",
            ),
            (
                _answer_loss(mean="all"),
                "the masked sum is divided by every position; divide by the number of answer tokens (the mask's sum).",
            ),
            (
                _answer_loss(mask_shift=False),
                "the mask is not shifted with the targets: use answer[:, 1:], the mask of the tokens being predicted.",
            ),
        ],
    )


_X = _RNG.normal(size=(3, 5))
_W, _BIAS = _RNG.normal(size=(5, 4)), _RNG.normal(size=4)
_A, _B = _RNG.normal(size=(5, 2)), _RNG.normal(size=(2, 4))


@checker
def check_lora_forward(lora_forward):
    """lora_forward(x, W, b, A, B, alpha, rank): x W + b + (alpha / rank) (x A) B.

    Args:
        lora_forward: the learner's function.

    Returns:
        A `CheckResult`.
    """
    received = values(
        call_learner(
            "lora_forward(x, W, b, A, B, alpha=8, rank=2)",
            lora_forward,
            _X,
            _W,
            _BIAS,
            _A,
            _B,
            8.0,
            2,
            on_error_hint="shapes: x [3, 5], W [5, 4], A [5, 2], B [2, 4]: x A B has W's output width.",
        ),
        "lora_forward's output",
    )
    base = _X @ _W + _BIAS
    update = _X @ _A @ _B
    explain_mismatch(
        received,
        base + 4.0 * update,
        "lora_forward(x, W, b, A, B, alpha=8, rank=2)",
        [
            (base + update, "the factor alpha / rank (8 / 2 = 4) is missing."),
            (base + 0.25 * update, "the factor is inverted: LoRA scales the update by alpha / rank, not rank / alpha."),
            (4.0 * update + _BIAS, "the frozen base x W is missing: LoRA adds its update to the pretrained layer."),
            (base, "the low-rank update is missing."),
        ],
    )


_TOP_LOGITS = np.log(np.array([0.05, 0.35, 0.1, 0.3, 0.2]))


def _nucleus(p, inclusive=True):
    order = np.argsort(-_TOP_LOGITS)
    probabilities = np.exp(_TOP_LOGITS[order]) / np.exp(_TOP_LOGITS).sum()
    above = np.cumsum(probabilities) - probabilities if inclusive else np.cumsum(probabilities)
    kept = np.zeros(len(order), bool)
    kept[order[above < p]] = True
    return kept


@checker
def check_top_p(top_p_keep):
    """top_p_keep(logits, p): the fewest likeliest tokens whose probabilities sum to at least p (the first always kept).

    Args:
        top_p_keep: the learner's ``top_p_keep(logits [V], p) -> [V]`` booleans (True: may be drawn).

    Returns:
        A `CheckResult`.
    """
    for p in (0.6, 0.7, 0.01):
        received = values(
            call_learner(f"top_p_keep(logits, {p})", top_p_keep, _TOP_LOGITS.copy(), p), "the kept tokens"
        )
        expect_shape(received, (5,), f"top_p_keep(logits, {p})")
        explain_mismatch(
            received != 0,
            _nucleus(p),
            f"top_p_keep(logits, p={p}) with probabilities {np.round(np.exp(_TOP_LOGITS), 2).tolist()}",
            [
                (
                    _nucleus(p, inclusive=False),
                    "the token whose probability crosses p is dropped: keep each token while "
                    "the mass of the tokens ranked above it is below p (so the smallest set reaching p stays, and the "
                    "likeliest token is always kept).",
                ),
            ],
        )


_N = np.array([1e3, 3e3, 1e4, 3e4, 1e5, 3e5])
_LOSS = 12.0 * _N**-0.25 * np.exp(np.array([0.01, -0.02, 0.015, -0.01, 0.02, -0.005]))


@checker
def check_power_law_fit(fit_power_law):
    """fit_power_law(N, loss): a straight line in log-log space, loss = a N^(-alpha), returns (a, alpha).

    Args:
        fit_power_law: the learner's ``fit_power_law(N, loss) -> (a, alpha)``.

    Returns:
        A `CheckResult`.
    """
    received = call_learner("fit_power_law(N, loss)", fit_power_law, _N.copy(), _LOSS.copy())
    if not (isinstance(received, (tuple, list)) and len(received) == 2):
        raise Mistake("fit_power_law should return (a, alpha).")
    slope, intercept = np.polyfit(np.log(_N), np.log(_LOSS), 1)
    a, alpha = np.exp(intercept), -slope
    got_a, got_alpha = (float(values(v, "a and alpha")) for v in received)
    if np.isclose(got_alpha, -alpha, rtol=1e-3):
        raise Mistake(f"alpha has the wrong sign ({got_alpha:.4f}): loss = a N^(-alpha) falls with N, so alpha > 0.")
    if np.isclose(got_a, intercept, rtol=1e-3) or np.isclose(got_a, intercept / np.log(10), rtol=1e-3):
        raise Mistake(
            f"a is the line's intercept ({got_a:.4f}), a logarithm: a = exp(intercept) (10**intercept in log10)."
        )
    linear = np.polyfit(_N, _LOSS, 1)[0]
    if np.isclose(got_alpha, -linear, rtol=1e-3) or np.isclose(got_alpha, linear, rtol=1e-3):
        raise Mistake(
            "the line was fitted on linear axes: fit log(loss) against log(N), where a power law is straight."
        )
    explain_mismatch(np.array([got_a, got_alpha]), np.array([a, alpha]), "(a, alpha)")
