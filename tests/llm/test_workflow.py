"""The LLM lab end to end: one tiny pretraining run (the CLI) shared by the export, fine-tuning and resume tests.

The GPT is tiny (one block of width 32, 30 steps on Python's own docs) so the module stays within
seconds; what is tested is the plumbing (tokenizer inside the export, the adapter, the resume), while
learning is shown by the loss falling.
"""

import importlib.util
import json
import pathlib

import numpy as np
import pytest
import tensorflow as tf
from support import kill_then_resume, mit_dl_in_process, run_fresh_python, run_mit_dl

from mit_dl.llm import data, finetune, styles
from mit_dl.llm.config import FinetuneConfig
from mit_dl.llm.tokenizer import Tokenizer

JOB = pathlib.Path(__file__).with_name("resume_job.py")
_spec = importlib.util.spec_from_file_location("resume_job", JOB)
_job = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(_job)
# The CLI run and the job train the same GPT: the job's killed and resumed run must end where the CLI's did.
FLAGS = [f"--{k.replace('_', '-')}={v}" for k, v in _job.TINY.items()] + ["--checkpoint-every=10", "--warmup-steps=5"]


@pytest.fixture(scope="module")
def pretrained(tmp_path_factory):
    out = tmp_path_factory.mktemp("llm") / "run"
    result = run_mit_dl("llm", "train", *FLAGS, "--out", str(out))
    assert result.returncode == 0, result.stderr[-3000:]
    return out, result


@pytest.fixture(scope="module")
def style_file(tmp_path_factory):
    return styles.write_examples(styles.pirate_examples(120), tmp_path_factory.mktemp("style") / "pirate.jsonl")


def test_pretraining_reports_the_held_out_text_beside_the_ngram_and_exports(pretrained):
    out, result = pretrained
    metrics = json.loads((out / "metrics.json").read_text())
    held_out, ngram = metrics["held_out"], metrics["ngram"]
    assert held_out["cross_entropy"] < np.log(300) - 0.5  # well below a uniform guess over the 300 tokens
    assert 1 < held_out["bits_per_character"] < 8.5 and 0.5 < ngram["bits_per_character"] < 4 and ngram["order"] == 5
    assert f"{held_out['bits_per_character']:.3f} bits per character" in result.stdout
    assert json.loads((out / "saved_model" / "metadata.json").read_text())["kind"] == "language model"
    assert Tokenizer.load(out).vocab_size == 300


def test_the_export_takes_and_returns_text_without_mit_dl(pretrained):
    out, _ = pretrained
    model, config, tokenizer = finetune.load_pretrained(out)
    text = "The import statement binds a name."
    ids = np.array([[tokenizer.end_id, *tokenizer.encode(text)]], "int32")
    logits = model(ids[:, :-1])
    expected = float(tf.reduce_mean(tf.nn.sparse_softmax_cross_entropy_with_logits(ids[:, 1:], logits)))
    served = json.loads(
        run_fresh_python(f"""
        import json, sys, tensorflow as tf
        m = tf.saved_model.load({str(out / "saved_model")!r})
        args = dict(prompt=tf.constant("The module"), temperature=tf.constant(1.0))
        a = m.generate(max_tokens=tf.constant(12), seed=tf.constant(5), **args)
        b = m.generate(max_tokens=tf.constant(12, tf.int64), seed=tf.constant(5, tf.int64), **args)
        c = m.generate(max_tokens=tf.constant(12), seed=tf.constant(6), **args)
        scores = m.score(texts=tf.constant([{text!r}, {text * 6!r}]))["cross_entropy"].numpy().tolist()
        try:
            m.generate(prompt=tf.constant("word " * 40), max_tokens=tf.constant(3), temperature=tf.constant(1.0),
                       seed=tf.constant(1))
            refused = ""
        except tf.errors.InvalidArgumentError as error:
            refused = error.message
        assert not any(name.startswith("mit_dl") for name in sys.modules)
        text_of = lambda out: out["text"].numpy().decode("utf-8", "replace")  # a cut character stays cut
        print(json.dumps({{"a": text_of(a), "b": text_of(b),
                          "c": text_of(c), "scores": scores, "refused": refused}}))
        """)
        .strip()
        .splitlines()[-1]
    )
    assert served["a"] == served["b"] and served["a"] != served["c"]
    np.testing.assert_allclose(served["scores"][0], expected, rtol=1e-4)
    assert served["scores"][1] > 0  # six times the text: longer than the context, read in windows
    assert "the prompt is longer than the context of the model (32 tokens" in served["refused"]


def test_lora_and_full_fine_tuning_learn_the_answers(pretrained, style_file, tmp_path):
    out, _ = pretrained
    result = run_mit_dl(
        "llm",
        "finetune",
        "--base",
        str(out),
        "--data",
        str(style_file),
        "--steps",
        "20",
        "--batch-size",
        "8",
        "--warmup-steps",
        "2",
        "--out",
        str(tmp_path / "lora"),
    )
    assert result.returncode == 0, result.stderr[-3000:]
    lora = json.loads((tmp_path / "lora" / "metrics.json").read_text())
    loss = lora["answer_cross_entropy"]
    assert loss["finetuned"] < loss["base"]
    assert lora["trained_parameters"] == 2 * 8 * (32 + 32)  # one block: query and value, rank 8
    assert (tmp_path / "lora" / "adapter.npz").stat().st_size < 40_000
    assert json.loads((tmp_path / "lora" / "saved_model" / "metadata.json").read_text())["kind"] == "language model"
    config = FinetuneConfig(base=str(out), data=str(style_file), method="full", steps=20, batch_size=8, warmup_steps=2)
    full = finetune.finetune(config, tmp_path / "full", export=False, log=lambda *a: None)
    assert full["answer_cross_entropy"]["finetuned"] < full["answer_cross_entropy"]["base"]
    assert full["answer_cross_entropy"]["base"] == pytest.approx(loss["base"])  # the same held-out answers
    assert full["trained_share"] == 1.0 and lora["trained_share"] < 0.5


def test_a_killed_pretraining_run_resumes_to_the_uninterrupted_result(pretrained, tmp_path):
    out, _ = pretrained
    run = tmp_path / "resumed"
    checkpoints = run / "checkpoints"
    kill_then_resume(JOB, run, checkpoints / "ckpt-10.index", checkpoints / "ckpt-30.index")
    reference = json.loads((out / "metrics.json").read_text())
    resumed = json.loads((run / "metrics.json").read_text())
    # The epoch's mean loss is rebuilt from the checkpointed running sums: equal to float rounding.
    assert resumed["history"]["loss"] == pytest.approx(reference["history"]["loss"], rel=1e-6)
    assert resumed["held_out"]["cross_entropy"] == pytest.approx(reference["held_out"]["cross_entropy"], rel=1e-6)


def test_bad_input_is_one_sentence_and_writes_nothing(pretrained, style_file, tmp_path):
    out, _ = pretrained
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "blank.txt").write_text("\n")
    (tmp_path / "binary.txt").write_bytes(bytes(range(256)))
    bad_jsonl = tmp_path / "bad.jsonl"
    bad_jsonl.write_text('{"prompt": "a", "response": "b"}\n{"prompt": "a"}\n')
    no_tokenizer = tmp_path / "no_tokenizer"
    no_tokenizer.mkdir()
    (no_tokenizer / "settings.json").write_text((out / "settings.json").read_text())
    cases = [
        (["train", "--data", tmp_path / "empty"], "holds no text"),
        (["train", "--data", tmp_path / "binary.txt"], "is a binary file"),
        (["finetune", "--base", out, "--data", style_file, "--rank", "0"], "rank must be a positive number"),
        (["finetune", "--base", out, "--data", bad_jsonl], "line 2 is not a JSON object"),
        (["finetune", "--base", no_tokenizer, "--data", style_file], "has no tokenizer.json"),
    ]
    for args, message in cases:
        result = mit_dl_in_process("llm", *args, "--out", tmp_path / "written")
        assert result.returncode == 2 and message in result.stderr, (args, result.stderr)
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
    assert not (tmp_path / "written").exists()
    with pytest.raises(Exception, match="longer than the text"):
        data.windows(np.arange(10), 32, 4, 0)
