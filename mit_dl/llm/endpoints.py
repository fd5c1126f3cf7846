"""The LLM's serving signatures, with the tokenizer inside: text in, text or numbers out.

- ``generate(prompt, max_tokens, temperature, seed) -> {"text", "stopped"}``:
  a continuation of ``prompt`` drawn with the key/value-cache sampler
  (each step compiled by XLA),
  stopping at the end token (not included; ``stopped`` says it was drawn)
  or after ``max_tokens``.
- ``generate_nucleus(prompt, max_tokens, temperature, seed, top_k, top_p)``:
  the same with top-k / top-p filtering.
- ``score(texts[N]) -> {"cross_entropy"[N]}``: each text's mean next-token
  cross-entropy in nats, the first token predicted from the end token;
  texts longer than the context are read in windows of the context.

Every text starts after the end token, as each document of the training
stream does. ``seed`` and ``max_tokens`` accept int32 and int64.
"""

import tensorflow as tf

from mit_dl.export import Endpoint
from mit_dl.llm.tokenizer import GraphTokenizer
from mit_dl.networks.decoder import TransformerSampler


def _prompt_ids(tokenizer, end_id, context, prompt):
    ids = tf.concat([[end_id], tokenizer.encode(prompt)], axis=0)
    fits = tf.debugging.Assert(
        tf.size(ids) <= context,
        [
            f"the prompt is longer than the context of the model ({context} tokens, the end token included); "
            "shorten it:",
            tf.size(ids),
        ],
    )
    with tf.control_dependencies([fits]):
        return tf.identity(ids)


def _score_one(model, tokenizer, end_id, context, text):
    """Mean cross-entropy (nats) of one text's tokens, read in windows of ``context``."""
    ids = tf.concat([[end_id], tokenizer.encode(text)], axis=0)
    inputs, targets = ids[:-1], ids[1:]
    count = tf.size(targets)
    padded = (count + context - 1) // context * context
    pad = [[0, padded - count]]
    inputs = tf.reshape(tf.pad(inputs, pad), [-1, context])
    targets = tf.reshape(tf.pad(targets, pad), [-1, context])
    mask = tf.reshape(tf.pad(tf.ones([count]), pad), [-1, context])
    logits = tf.cast(model(inputs, training=False), tf.float32)
    per_token = tf.nn.sparse_softmax_cross_entropy_with_logits(targets, logits)
    return tf.reduce_sum(per_token * mask) / tf.maximum(tf.cast(count, tf.float32), 1.0)


def llm_endpoints(model, tokenizer):
    """The export's endpoints for a GPT and its tokenizer.

    Args:
        model: a `build_gpt` model (adapters merged).
        tokenizer: its `mit_dl.llm.tokenizer.Tokenizer`.

    Returns:
        ``(endpoints, trackables)``: ``{name: Endpoint}`` and the objects to export with the model.
    """
    graph = GraphTokenizer(tokenizer)
    sampler = TransformerSampler(model, jit_compile=True)  # each step one XLA program: 2.3x on a CPU
    context, end_id = sampler.context, tokenizer.end_id

    @tf.autograph.experimental.do_not_convert  # no Python control flow: nothing to convert
    def continuation(prompt, max_tokens, temperature, seed, top_k, top_p):
        ids = _prompt_ids(graph, end_id, context, prompt)
        drawn = sampler.generate_tokens(ids[None], max_tokens, temperature, seed[None], top_k, top_p, end_id)[0]
        kept = tf.cumsum(tf.cast(tf.equal(drawn, end_id), tf.int32)) == 0
        return {"text": graph.decode(tf.boolean_mask(drawn, kept)), "stopped": tf.reduce_any(tf.equal(drawn, end_id))}

    @tf.autograph.experimental.do_not_convert  # no Python control flow: nothing to convert
    def generate(prompt, max_tokens, temperature, seed):
        return continuation(prompt, max_tokens, temperature, seed, tf.constant(0), tf.constant(1.0))

    @tf.autograph.experimental.do_not_convert  # no Python control flow: nothing to convert
    def score(texts):
        scores = tf.map_fn(
            lambda text: _score_one(model, graph, end_id, context, text), texts, fn_output_signature=tf.float32
        )
        return {"cross_entropy": scores}

    common = [
        tf.TensorSpec([], tf.string, name="prompt"),
        tf.TensorSpec([], tf.int32, name="max_tokens"),
        tf.TensorSpec([], tf.float32, name="temperature"),
        tf.TensorSpec([], tf.int64, name="seed"),
    ]
    converted = {"seed": [tf.int32], "max_tokens": [tf.int64]}
    endpoints = {
        "generate": Endpoint(generate, common, converted_dtypes=converted),
        "generate_nucleus": Endpoint(
            continuation,
            [*common, tf.TensorSpec([], tf.int32, name="top_k"), tf.TensorSpec([], tf.float32, name="top_p")],
            converted_dtypes={**converted, "top_k": [tf.int64]},
        ),
        "score": Endpoint(score, [tf.TensorSpec([None], tf.string, name="texts")]),
    }
    return endpoints, (graph, sampler)
