"""The lecture layers, written from scratch as Keras 3 layers.

    from mit_dl.layers import MyDenseLayer, MyRNNCell, SelfAttention, ...

Every class is registered for serialization under the package ``mit_dl``, so
models using them reload with ``keras.models.load_model`` once this package is
imported.
"""

from mit_dl.layers.attention import SelfAttention, scaled_dot_product_attention
from mit_dl.layers.dense import MyDenseLayer
from mit_dl.layers.lora import LoRADense
from mit_dl.layers.multi_head_attention import MultiHeadSelfAttention
from mit_dl.layers.position_embedding import PositionEmbedding
from mit_dl.layers.positional_encoding import PositionalEncoding, sinusoidal_encoding
from mit_dl.layers.rnn import MyRNNCell
from mit_dl.layers.sampling import Sampling, kl_divergence_to_standard_normal
from mit_dl.layers.tied_embedding import TiedEmbedding
from mit_dl.layers.transformer_block import TransformerBlock

__all__ = [
    "MyDenseLayer",
    "MyRNNCell",
    "SelfAttention",
    "scaled_dot_product_attention",
    "MultiHeadSelfAttention",
    "PositionalEncoding",
    "sinusoidal_encoding",
    "PositionEmbedding",
    "TransformerBlock",
    "TiedEmbedding",
    "LoRADense",
    "Sampling",
    "kl_divergence_to_standard_normal",
]
