"""Base, LoRA and full fine-tuning side by side: the style loss, the judge's verdicts, the template.

``compare`` reads fine-tuning runs of one base on one style data set and
measures, for the base model and each run:

- the course's graded number, the mean cross-entropy of the held-out
  examples' answers (each run measured it before and after training);
- the share of generations the style judge calls in the style: the judge
  (`mit_dl.llm.judge.StyleJudge`) learns the style's training answers
  against lines of the base's corpus, and its own held-out accuracy is
  reported beside;
- with an OpenAI-compatible endpoint (`mit_dl.llm.judge.HttpJudge`), the
  share its model calls in the style too, beside the offline judge's;
- template adherence: the share of generations that end with the end token
  within ``max_tokens``.

Generations answer the held-out prompts in the chat template (style text
without prompts: the empty prompt), one seed each.
"""

import json
import pathlib
import types

import numpy as np
import tensorflow as tf

from mit_dl.llm import data
from mit_dl.llm.config import FinetuneConfig
from mit_dl.llm.endpoints import llm_endpoints
from mit_dl.llm.finetune import examples_split, is_run, load_base
from mit_dl.llm.generate import load_language_model, samples
from mit_dl.llm.judge import StyleJudge
from mit_dl.llm.tokenizer import ASSISTANT, USER
from mit_dl.training.runs import read_json, read_settings


def _finetune_run(path):
    """A fine-tuning run's config and metrics."""
    lab, values = read_settings(path)
    config = FinetuneConfig(**{k: v for k, v in values.items() if k in FinetuneConfig.__dataclass_fields__})
    return config, read_json(pathlib.Path(path) / "metrics.json", "finish the run first")


def style_judge(train_examples, base_corpus, seed=0):
    """The judge of the style: the training answers against as many lines of the base's corpus.

    Args:
        train_examples: the fine-tuning examples the runs learned.
        base_corpus: the base's ``data`` setting (None: Python's documentation).
        seed: the judge's split seed.

    Returns:
        A fitted `StyleJudge` (its ``accuracy`` measured on held-out lines).
    """
    style = [response for _, response in train_examples]
    lines = [line.strip() for text in data.read_documents(base_corpus).values() for line in text.splitlines()]
    lines = [line for line in lines if len(line.split()) >= 3]
    pick = np.random.default_rng(seed).permutation(len(lines))[: len(style)]
    return StyleJudge.fit(style, [lines[i] for i in pick], seed=seed)


def _generator(model):
    """A model's ``generate_nucleus``: a run's export, or a keras-hub preset's endpoints built in memory."""
    if is_run(model) or (pathlib.Path(model) / "saved_model.pb").is_file():
        return load_language_model(model)[0]
    gpt, _, tokenizer = load_base(model)
    nucleus = llm_endpoints(gpt, tokenizer)[0]["generate_nucleus"]
    return types.SimpleNamespace(generate_nucleus=tf.function(nucleus.fn, input_signature=nucleus.input_signature))


def _generations(model, prompts, max_tokens, seed):
    drawn = []
    loaded = _generator(model)
    for i, prompt in enumerate(prompts):
        drawn += samples(loaded, f"{USER}{prompt}{ASSISTANT}", max_tokens, 0.8, [seed + i], top_p=0.95)
    return drawn


def compare(base, runs, out, prompts=20, max_tokens=60, seed=0, http_judge=None):
    """Measure the base and each fine-tuning run; write ``metrics.json`` and ``table.md``.

    Args:
        base: the pretraining run (or keras-hub preset) the fine-tuning runs started from.
        runs: fine-tuning run directories (same data and seed).
        out: the comparison's folder.
        prompts: held-out prompts each model answers.
        max_tokens: most tokens per answer.
        seed: the first sampling seed.
        http_judge: an optional `mit_dl.llm.judge.HttpJudge` asked about every generation too.

    Returns:
        The metrics.
    """
    configs = [_finetune_run(run) for run in runs]
    config = configs[0][0]
    train_examples, test_examples = examples_split(data.read_examples(config.data), config.held_out, config.seed)
    base_corpus = read_settings(base)[1].get("data") if is_run(base) else None  # a preset: Python's docs
    judge = style_judge(train_examples, base_corpus, seed)
    asked = [prompt for prompt, _ in test_examples[:prompts]]
    rows = {"base": {"answer_cross_entropy": configs[0][1]["answer_cross_entropy"]["base"], "model": str(base)}}
    for run, (run_config, metrics) in zip(runs, configs):
        name = run_config.method if run_config.method == "full" else f"lora r={run_config.rank}"
        rows[name] = {
            "answer_cross_entropy": metrics["answer_cross_entropy"]["finetuned"],
            "trained_share": metrics["trained_share"],
            "model": str(run),
        }
    for row in rows.values():
        drawn = _generations(row["model"], asked, max_tokens, seed)
        row["judged_in_style"] = float(np.mean(judge.score([d["text"] for d in drawn]) > 0.5))
        if http_judge is not None:
            row["judged_in_style_http"] = float(np.mean(http_judge.score([d["text"] for d in drawn])))
        row["stopped"] = float(np.mean([d["stopped"] for d in drawn]))
        row["samples"] = [d["text"] for d in drawn[:5]]
    result = {"judge_accuracy": judge.accuracy, "prompts": asked, "models": rows}
    if http_judge is not None:
        result["http_judge"] = {"url": http_judge.base_url, "model": http_judge.model, "style": http_judge.style}
    out = pathlib.Path(out)
    out.mkdir(parents=True, exist_ok=True)
    (out / "metrics.json").write_text(json.dumps(result, indent=2) + "\n")
    (out / "table.md").write_text(comparison_table(result) + "\n")
    return result


def comparison_table(result):
    """`compare`'s result as Markdown.

    Args:
        result: `compare`'s metrics.

    Returns:
        The table's text.
    """
    http = result.get("http_judge")
    rows = [f"style judge: {100 * result['judge_accuracy']:.1f}% accurate on held-out lines"]
    if http:
        rows.append(f"HTTP judge: {http['model']} at {http['url']}, asked about {http['style']}")
    rows += [
        "",
        "| model | weights trained | answer cross-entropy (nats / token) | judged in style |"
        + (" HTTP judge: in style |" if http else "")
        + " stopped at the end |",
        "|---|---|---|---|" + ("---|" if http else "") + "---|",
    ]
    for name, row in result["models"].items():
        share = f"{100 * row['trained_share']:.2f}%" if "trained_share" in row else "none"
        asked = f" {100 * row['judged_in_style_http']:.0f}% |" if http else ""
        rows.append(
            f"| {name} | {share} | {row['answer_cross_entropy']:.3f} | {100 * row['judged_in_style']:.0f}% |"
            f"{asked} {100 * row['stopped']:.0f}% |"
        )
    return "\n".join(rows)
