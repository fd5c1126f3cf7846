"""The byte-level BPE: exact round trips on whole corpora, and its TensorFlow twin gives the library's ids."""

import pydoc_data.topics

import pytest
import tensorflow as tf
from support import shared_data

from mit_dl.llm import data
from mit_dl.llm.tokenizer import SPECIAL_TOKENS, GraphTokenizer, Tokenizer, train_tokenizer

DOCS = list(pydoc_data.topics.topics.values())


@pytest.fixture(scope="module")
def tokenizer():
    return train_tokenizer(DOCS, 600)


def test_vocabulary_holds_the_specials_the_bytes_and_the_merges(tokenizer):
    assert tokenizer.vocab_size == 600
    assert [tokenizer.library.token_to_id(t) for t in SPECIAL_TOKENS] == [0, 1, 2]
    assert sorted(len(t) for t in tokenizer.token_bytes()[3:259]) == [1] * 256
    assert len(tokenizer.merges()) == 600 - 259


def test_every_document_round_trips_exactly(tokenizer):
    assert all(tokenizer.decode(ids) == text for ids, text in zip(tokenizer.encode_many(DOCS), DOCS))
    odd = "tabs\tand\r\nCRLF, emoji 🙂, accents é, a NUL \x00 and specials <|user|>x<|endoftext|>"
    assert tokenizer.decode(tokenizer.encode(odd)) == odd
    assert tokenizer.encode("<|assistant|>") == [tokenizer.assistant_id]  # never split


def test_the_shakespeare_corpus_round_trips_exactly():
    documents = data.read_documents(shared_data("shakespeare"))
    train, _ = data.split_documents(documents)
    tokenizer = train_tokenizer(train.values(), 2048)
    text = "".join(documents.values())
    ids = tokenizer.encode(text)
    assert tokenizer.decode(ids) == text and len(ids) < len(text) / 2.5  # merges shorten English well


def test_the_graph_tokenizer_gives_the_librarys_ids_and_text(tokenizer):
    graph = GraphTokenizer(tokenizer)
    samples = [*DOCS[:20], "  leading spaces,\n\n  indented\tline 42 <|user|>Q?<|assistant|>A.<|endoftext|>", "é 🙂"]
    for text in samples:
        ids = graph.encode(tf.constant(text)).numpy().tolist()
        assert ids == tokenizer.encode(text), text[:60]
        assert graph.decode(tf.constant(ids, tf.int32)).numpy().decode("utf-8") == text
    assert graph.encode(tf.constant("")).numpy().tolist() == []


def test_save_and_load_keep_the_ids(tokenizer, tmp_path):
    tokenizer.save(tmp_path)
    assert Tokenizer.load(tmp_path).encode(DOCS[3]) == tokenizer.encode(DOCS[3])
    with pytest.raises(Exception, match="has no tokenizer.json"):
        Tokenizer.load(tmp_path / "elsewhere")
