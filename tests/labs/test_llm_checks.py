"""LLM lab checkers: each accepts the reference answer and rejects typical mistakes with the right explanation."""

import numpy as np
from support import failed, todo

from mit_dl.labs import llm as checks


def test_bpe_merge():
    assert checks.check_bpe_merge(checks.bpe_merge_step)

    def once_per_word(words):
        counts = {}
        for word in words:
            for pair in set(zip(word, word[1:])):
                counts[pair] = counts.get(pair, 0) + 1
        best = min(counts, key=lambda p: (-counts[p], p))
        return best, checks.bpe_merge_step({**words})[1]

    failed(checks.check_bpe_merge(once_per_word), "the pair found in most words")

    def overlapping(words):
        best, merged = checks.bpe_merge_step(words)
        if words == {("e", "e", "e"): 1}:
            return ("e", "e"), {("ee", "ee"): 1}
        return best, merged

    failed(checks.check_bpe_merge(overlapping), "occurrences do not overlap")
    failed(checks.check_bpe_merge(lambda words: "es"), "should return (pair, new_words)")
    failed(checks.check_bpe_merge(todo), "not implemented yet")


def test_causal_mask():
    assert checks.check_causal_mask(lambda n: np.tril(np.ones((n, n), bool)))
    failed(checks.check_causal_mask(lambda n: np.triu(np.ones((n, n), bool))), "the mask is transposed")
    failed(checks.check_causal_mask(lambda n: np.tril(np.ones((n, n), bool), -1)), "the diagonal is masked")
    failed(checks.check_causal_mask(lambda n: ~np.tril(np.ones((n, n), bool))), "the mask is inverted")
    failed(checks.check_causal_mask(lambda n: np.ones((n, n - 1))), "should have shape (5, 5)")


def _loss(shift=True, use_mask=True, divide_by_count=True, shift_mask=True):
    def answer_loss(logits, tokens, answer):
        if shift:
            logits, targets = logits[:, :-1], tokens[:, 1:]
            answer = answer[:, 1:] if shift_mask else answer[:, :-1]
        else:
            targets = tokens
        z = logits - logits.max(-1, keepdims=True)
        log_p = z - np.log(np.exp(z).sum(-1, keepdims=True))
        per_token = -np.take_along_axis(log_p, targets[..., None], -1)[..., 0]
        weights = answer if use_mask else np.ones_like(answer)
        return (per_token * weights).sum() / (weights.sum() if divide_by_count else weights.size)

    return answer_loss


def test_answer_loss():
    assert checks.check_answer_loss(_loss())
    failed(checks.check_answer_loss(_loss(shift=False)), "the off-by-one")
    failed(checks.check_answer_loss(_loss(use_mask=False)), "the prompt tokens count too")
    failed(checks.check_answer_loss(_loss(divide_by_count=False)), "divided by every position")
    failed(checks.check_answer_loss(_loss(shift_mask=False)), "the mask is not shifted")


def test_lora_forward():
    def lora(x, W, b, A, B, alpha, rank, scale=None, base=True):
        factor = alpha / rank if scale is None else scale
        return (x @ W if base else 0) + b + factor * (x @ A @ B)

    assert checks.check_lora_forward(lora)
    failed(checks.check_lora_forward(lambda *a: lora(*a, scale=1.0)), "the factor alpha / rank (8 / 2 = 4) is missing")
    failed(checks.check_lora_forward(lambda *a: lora(*a, scale=a[6] / a[5])), "the factor is inverted")
    failed(checks.check_lora_forward(lambda *a: lora(*a, base=False)), "the frozen base x W is missing")
    failed(
        checks.check_lora_forward(lambda x, W, b, A, B, alpha, r: x @ W + b + x @ B @ A), "x A B has W's output width"
    )


def test_top_p():
    def keep(logits, p, inclusive=True):
        order = np.argsort(-logits)
        probabilities = np.exp(logits[order]) / np.exp(logits).sum()
        mass = np.cumsum(probabilities)
        above = mass - probabilities if inclusive else mass
        kept = np.zeros(len(logits), bool)
        kept[order[above < p]] = True
        return kept

    assert checks.check_top_p(keep)
    failed(checks.check_top_p(lambda logits, p: keep(logits, p, inclusive=False)), "crosses p is dropped")


def test_power_law_fit():
    def fit(n, loss, space="log", a_as="exp", sign=1):
        if space == "linear":
            slope, intercept = np.polyfit(n, loss, 1)
            return np.exp(intercept), -slope
        slope, intercept = np.polyfit(np.log(n), np.log(loss), 1)
        return (np.exp(intercept) if a_as == "exp" else intercept), -sign * slope

    assert checks.check_power_law_fit(fit)
    failed(checks.check_power_law_fit(lambda n, loss: fit(n, loss, sign=-1)), "the wrong sign")
    failed(checks.check_power_law_fit(lambda n, loss: fit(n, loss, a_as="log")), "a is the line's intercept")
    failed(checks.check_power_law_fit(lambda n, loss: fit(n, loss, space="linear")), "fitted on linear axes")
    failed(checks.check_power_law_fit(lambda n, loss: (1.0,)), "should return (a, alpha)")
