"""One small model per lecture layer, for the checks every layer must pass.

Each case builds a functional model around one layer (with an explicit
``dtype`` for float64 gradient checks, or the global policy for mixed
precision) and deterministic inputs for it.
"""

import dataclasses
from collections.abc import Callable

import keras
import numpy as np

from mit_dl import layers


@dataclasses.dataclass(frozen=True)
class Case:
    name: str
    make_layer: Callable  # dtype -> layer
    input_shapes: tuple  # per input, without the batch axis
    call: Callable = lambda layer, inputs: layer(inputs)
    # Inputs the layer maps deterministically (Sampling: near-zero variance).
    make_inputs: Callable = None

    def model(self, dtype=None):
        inputs = [keras.Input(shape, dtype=dtype) for shape in self.input_shapes]
        layer = self.make_layer(dtype)
        outputs = self.call(layer, inputs if len(inputs) > 1 else inputs[0])
        return keras.Model(inputs if len(inputs) > 1 else inputs[0], outputs, name=f"{self.name}_model")

    def inputs(self, batch=3, seed=0):
        if self.make_inputs is not None:
            return self.make_inputs(batch, seed)
        rng = np.random.default_rng(seed)
        arrays = [rng.normal(size=(batch, *shape)).astype("float32") for shape in self.input_shapes]
        return arrays if len(arrays) > 1 else arrays[0]


def _sampling_inputs(batch, seed):
    rng = np.random.default_rng(seed)
    mean = rng.normal(size=(batch, 4)).astype("float32")
    # sigma = exp(-15) ~ 3e-7: the output equals the mean up to ~1e-6.
    return [mean, np.full((batch, 4), -30.0, "float32")]


CASES = [
    Case("dense", lambda dtype: layers.MyDenseLayer(4, dtype=dtype), ((6,),)),
    Case(
        "rnn",
        lambda dtype: keras.layers.RNN(
            layers.MyRNNCell(8, output_dim=4, dtype=dtype), return_sequences=True, dtype=dtype
        ),
        ((5, 3),),
    ),
    Case(
        "self_attention",
        lambda dtype: layers.SelfAttention(6, use_bias=True, dtype=dtype),
        ((5, 8),),
        call=lambda layer, x: layer(x, use_causal_mask=True),
    ),
    Case(
        "multi_head_self_attention",
        lambda dtype: layers.MultiHeadSelfAttention(8, 2, dtype=dtype),
        ((5, 8),),
    ),
    Case(
        "transformer_block",
        lambda dtype: layers.TransformerBlock(8, 2, ff_dim=12, dtype=dtype),
        ((5, 8),),
    ),
    Case("lora_dense", lambda dtype: layers.LoRADense(4, rank=2, alpha=4, dtype=dtype), ((6,),)),
    Case("positional_encoding", lambda dtype: layers.PositionalEncoding(dtype=dtype), ((5, 8),)),
    Case("position_embedding", lambda dtype: layers.PositionEmbedding(10, dtype=dtype), ((5, 8),)),
    Case(
        "sampling",
        lambda dtype: layers.Sampling(seed=3, dtype=dtype),
        ((4,), (4,)),
        make_inputs=_sampling_inputs,
    ),
]

BY_NAME = {case.name: case for case in CASES}
