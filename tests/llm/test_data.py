"""Corpora split by whole documents, token windows, fine-tuning examples and their answer-only mask."""

import json

import numpy as np
import pytest
import tensorflow_datasets as tfds
from support import shared_data

from mit_dl.errors import ConfigError
from mit_dl.llm import data
from mit_dl.llm.tokenizer import train_tokenizer


def test_shakespeare_holds_out_four_named_works():
    documents = data.read_documents(shared_data("shakespeare"))
    train, held_out = data.split_documents(documents)
    assert len(documents) == 42 and tuple(held_out) == data.HELD_OUT_WORKS
    assert not set(train) & set(held_out)
    train, held_out = data.split_documents(documents, "lear_gut, macbeth")
    assert list(held_out) == ["lear_gut", "macbeth_gut"] and len(train) == 40


def test_default_corpus_installs_with_python_and_folders_hold_out_every_tenth_file(tmp_path):
    documents = data.read_documents(None)
    assert len(documents) == 79 and "class" in documents
    for i in range(12):
        (tmp_path / f"doc{i:02d}.txt").write_text(f"text {i}\n")
    train, held_out = data.split_documents(data.read_documents(tmp_path))
    assert list(held_out) == ["doc09"] and len(train) == 11
    single = tmp_path / "one.txt"
    single.write_text("".join(f"line {i}\n" for i in range(20)))
    train, held_out = data.split_documents(data.read_documents(single))
    assert list(held_out.values()) == ["line 18\nline 19\n"]


def test_bad_corpora_say_what_to_do(tmp_path):
    (tmp_path / "empty").mkdir()
    (tmp_path / "empty" / "a.txt").write_text("  \n")
    (tmp_path / "binary.txt").write_bytes(b"\x00\x01\x02text")
    (tmp_path / "latin.txt").write_bytes("caf\xe9".encode("latin-1"))
    cases = {
        tmp_path / "empty": "holds no text",
        tmp_path / "binary.txt": "is a binary file",
        tmp_path / "latin.txt": "is not UTF-8 text",
        tmp_path / "missing": "does not exist",
    }
    for path, message in cases.items():
        with pytest.raises(ConfigError, match=message):
            data.read_documents(path)
    with pytest.raises(ConfigError, match="names 'nothere'"):
        data.split_documents({"a": "x", "b": "y"}, "nothere")


def test_tiny_shakespeare_through_tensorflow_datasets_mock_data():
    with tfds.testing.mock_data(num_examples=2):
        documents = data.read_documents("tfds:tiny_shakespeare")
    train, held_out = data.split_documents(documents)
    assert set(train) == {"train_0", "train_1"} and all(n.startswith(("validation", "test")) for n in held_out)


def test_windows_pair_each_token_with_the_next():
    ids = np.arange(100, dtype=np.int32)
    tokens, targets = next(iter(data.windows(ids, context=8, batch_size=4, seed=0)))
    assert tokens.shape == (4, 8) and np.array_equal(targets.numpy(), tokens.numpy() + 1)
    with pytest.raises(ConfigError, match="longer than the text"):
        data.windows(ids[:5], context=8, batch_size=2, seed=0)


def test_examples_from_lines_and_jsonl_with_the_bad_line_named(tmp_path):
    lines = tmp_path / "style.txt"
    lines.write_text("Shall I compare thee\n\nto a summer's day?\n")
    assert data.read_examples(lines) == [("", "Shall I compare thee"), ("", "to a summer's day?")]
    good = tmp_path / "qa.jsonl"
    good.write_text(json.dumps({"prompt": "Who?", "response": "I."}) + "\n")
    assert data.read_examples(good) == [("Who?", "I.")]
    bad = tmp_path / "bad.jsonl"
    bad.write_text(json.dumps({"prompt": "a", "response": "b"}) + '\n{"prompt": "no response"}\n')
    with pytest.raises(ConfigError, match="line 2 is not a JSON object"):
        data.read_examples(bad)
    (tmp_path / "blank.txt").write_text("\n\n")
    with pytest.raises(ConfigError, match="holds no example"):
        data.read_examples(tmp_path / "blank.txt")


def test_the_mask_covers_the_answer_and_its_end_token_shifted_with_the_targets():
    tokenizer = train_tokenizer(["who art thou? a friend."] * 10, 280)
    tokens, targets, mask, cut = data.encode_examples(tokenizer, [("who art thou?", "a friend.")], context=32)
    prompt = len(tokenizer.encode("<|user|>who art thou?<|assistant|>"))
    answer = len(tokenizer.encode("a friend.")) + 1  # and the end token
    assert cut == 0 and mask.sum() == answer and mask.shape == (1, prompt + answer - 1)  # no padding past the end
    counted = targets[0][mask[0] == 1].tolist()
    assert counted == [*tokenizer.encode("a friend."), tokenizer.end_id]
    assert tokens[0, prompt - 1] == tokenizer.assistant_id and mask[0, prompt - 2] == 0 and mask[0, prompt - 1] == 1
    _, _, mask, cut = data.encode_examples(tokenizer, [("who art thou?", "a friend. " * 20)], context=16)
    assert cut == 1 and mask.shape == (1, 16)
