"""LLM lab settings: pretraining a GPT from the lecture layers (`GPTConfig`) and fine-tuning it (`FinetuneConfig`).

`GPTConfig` is nanoGPT's one config in the companion's shape: the corpus,
the byte-level BPE's vocabulary, the network's size and the optimizer's
recipe (AdamW, linear warm-up then cosine decay, global-norm clipping).
``quick`` trains a small GPT in minutes on 2 CPU cores; ``full`` is
nanoGPT's "baby GPT" (6 layers of 384, context 256), written for a GPU.

`FinetuneConfig` adapts a pretrained run (or a keras-hub preset) to a style
data set with the loss on the answer tokens only: LoRA on the attention
projections, or every weight (``full``).

Examples:
    >>> GPTConfig.from_preset("quick").num_layers
    4
    >>> FinetuneConfig(base="runs/llm", data="style.txt", rank=0)
    Traceback (most recent call last):
    ...
    mit_dl.errors.ConfigError: rank must be a positive number, received 0.
"""

import dataclasses
from typing import Optional

from mit_dl.config import RunConfig, at_least, option, positive
from mit_dl.errors import ConfigError

METHODS = ("lora", "full")
PROJECTIONS = ("query", "key", "value", "output")
# Each method's usual learning rate: the low-rank update takes larger steps than the whole network.
LEARNING_RATES = {"lora": 2e-3, "full": 3e-4}


def _check_shape(config):
    positive(config, "vocab_size", "context", "d_model", "num_heads", "num_layers", "ff_dim")
    if config.d_model % config.num_heads:
        raise ConfigError("num_heads", f"({config.num_heads}) must divide d_model ({config.d_model})")
    if config.vocab_size < 260:
        raise ConfigError(
            "vocab_size", f"must be at least 260 (256 bytes and the special tokens), received {config.vocab_size}"
        )


@dataclasses.dataclass(frozen=True)
class GPTConfig(RunConfig):
    """Corpus, tokenizer, network and optimizer of one pretraining run."""

    PRESETS = {
        "quick": {},
        "full": {
            "vocab_size": 4096,
            "context": 256,
            "d_model": 384,
            "num_heads": 6,
            "num_layers": 6,
            "ff_dim": 1536,
            "dropout": 0.2,
            "batch_size": 64,
            "steps": 5000,
            "learning_rate": 1e-3,
            "warmup_steps": 200,
        },
    }
    PRESET_HELP = {
        "quick": "a 4-layer GPT of width 128 on context 128, 3,000 steps of 16 windows (7 minutes on 2 CPU cores)",
        "full": "nanoGPT's baby GPT: 6 layers of 384, context 256, 5,000 steps (written for a GPU)",
    }

    preset: str = option("quick", "the preset the other values came from (a label)", resume="free")
    data: Optional[str] = option(
        None,
        "a text file or a folder of them (held-out works: --held-out); tfds:tiny_shakespeare with internet; "
        "default: Python's own documentation prose (pydoc_data), which installs with Python",
    )
    held_out: Optional[str] = option(
        None,
        "comma-separated file names (without .txt) held out of a folder for validation (default: the "
        "Shakespeare works of HELD_OUT_WORKS when present, else every tenth file; a single text's last 10%%)",
    )
    vocab_size: int = option(1024, "the byte-level BPE's vocabulary (256 bytes, special tokens and merges)")
    context: int = option(128, "tokens the model reads at once")
    d_model: int = option(128, "width of the embeddings and the transformer blocks")
    num_heads: int = option(4, "attention heads per block")
    num_layers: int = option(4, "transformer blocks")
    ff_dim: int = option(512, "width of each block's feed-forward layer")
    dropout: float = option(0.0, "dropout on the embeddings and residual branches")
    approximate_gelu: bool = option(False, "GPT-2's tanh approximation of the GELU (a GPT-2 base has it)")
    batch_size: int = option(16, "windows of `context` tokens per step")
    steps: int = option(3000, "training steps (a resumed run may add some)", resume="free")
    learning_rate: float = option(2e-3, "AdamW's peak learning rate")
    warmup_steps: int = option(100, "steps of linear warm-up from 0 before the cosine decay")
    weight_decay: float = option(0.1, "AdamW's decoupled weight decay (not on biases, norms and embeddings)")
    clip_norm: float = option(1.0, "clip the gradients' global norm to this")
    checkpoint_every: int = option(500, "steps between checkpoints (and at the end)", resume="free")

    def __post_init__(self):
        super().__post_init__()
        _check_shape(self)
        positive(self, "batch_size", "steps", "learning_rate", "clip_norm", "checkpoint_every")
        at_least(self, "warmup_steps", 0)
        at_least(self, "weight_decay", 0)
        at_least(self, "dropout", 0)
        if self.dropout >= 1:
            raise ConfigError("dropout", f"must be below 1, received {self.dropout!r}")


@dataclasses.dataclass(frozen=True)
class FinetuneConfig(RunConfig):
    """Base model, style data, method and budget of one fine-tuning run."""

    PRESETS = {"quick": {}, "full": {"steps": 1000, "batch_size": 32}}
    PRESET_HELP = {
        "quick": "300 steps of 16 examples (minutes on 2 CPU cores for the quick base)",
        "full": "1,000 steps of 32 examples",
    }

    preset: str = option("quick", "the preset the other values came from (a label)", resume="free")
    base: str = option("", "a pretraining run directory, or a keras-hub preset (gpt2_base_en, hf://..., a folder)")
    data: str = option("", 'style text (one example per line) or JSONL lines {"prompt": ..., "response": ...}')
    method: str = option(
        "lora", "lora: train a low-rank update of the attention projections; full: every weight", choices=METHODS
    )
    rank: int = option(8, "LoRA's rank r")
    projections: str = option(
        "query,value", "the attention projections LoRA adapts (Hu et al.'s choice; any of query,key,value,output)"
    )
    alpha: float = option(16.0, "LoRA's alpha: the update is scaled by alpha / r")
    steps: int = option(300, "fine-tuning steps", resume="free")
    batch_size: int = option(16, "examples per step")
    learning_rate: Optional[float] = option(None, "peak learning rate (default: 2e-3 for lora, 3e-4 for full)")
    warmup_steps: int = option(20, "steps of linear warm-up before the cosine decay")
    held_out: float = option(0.1, "share of the examples held out to measure the style loss")

    def __post_init__(self):
        super().__post_init__()
        positive(self, "rank", "alpha", "steps", "batch_size")
        unknown = sorted(set(self.adapted()) - set(PROJECTIONS))
        if unknown or not self.adapted():
            raise ConfigError(
                "projections", f"must name some of {','.join(PROJECTIONS)}, received {self.projections!r}"
            )
        positive(self, "learning_rate", allow_none=True)
        at_least(self, "warmup_steps", 0)
        if not 0 < self.held_out < 1:
            raise ConfigError("held_out", f"must be a share between 0 and 1, received {self.held_out!r}")

    def adapted(self):
        """The attention projections LoRA adapts.

        Returns:
            A tuple of names.
        """
        return tuple(name.strip() for name in self.projections.split(",") if name.strip())

    def rate(self):
        """The learning rate this run uses.

        Returns:
            ``learning_rate``, or the method's usual one (`LEARNING_RATES`).
        """
        return self.learning_rate if self.learning_rate is not None else LEARNING_RATES[self.method]

    def unused_fields(self):
        """LoRA's settings when every weight trains.

        Returns:
            A set of field names.
        """
        return {"rank", "alpha", "projections"} if self.method == "full" else set()
