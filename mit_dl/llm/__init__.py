"""MIT's Lab 3 in Keras: a GPT from the lecture layers, pretrained, fine-tuned with LoRA, judged, scaled.

- `tokenizer`: a byte-level BPE learned with Hugging Face ``tokenizers``, and `GraphTokenizer`, its
  twin in TensorFlow ops for exports that take and return text.
- `data`: corpora split by whole documents (Shakespeare's held-out works), token windows, the
  chat template and the fine-tuning examples with their answer-only mask; `styles`: a style data
  set that installs (Python's docs answered in a pirate's voice).
- `model`: the GPT (the lecture's decoder, `mit_dl.networks.decoder`), its loss and optimizer, and
  LoRA on its attention projections.
- `train` (pretraining), `finetune` (LoRA or every weight), `endpoints` (``generate``, ``score``),
  `generate`, `evaluate` (bits per character, a Kneser-Ney baseline from `ngram`), `judge` (an
  offline style classifier, an OpenAI-compatible HTTP judge), `compare` (base / LoRA / full).
- `scaling` (the power laws of size, data and compute), `memory` (data, ZeRO / FSDP and tensor
  parallelism per device), `figures`, `demo`, `assets`, `commands` and `lab`.
"""

from mit_dl._lazy import exports
from mit_dl.llm.config import FinetuneConfig, GPTConfig

# Imported on first use (they load TensorFlow); the configs stay light for the command line.
_LAZY = {
    name: name
    for name in ("tokenizer", "data", "styles", "model", "train", "finetune", "generate", "evaluate", "judge")
}
__all__ = ["GPTConfig", "FinetuneConfig", *_LAZY]
__getattr__, __dir__ = exports(__name__, _LAZY, globals())
