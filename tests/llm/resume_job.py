"""Pretrain the workflow test's tiny GPT into a run directory (run as a script, killed and run again)."""

import sys

from mit_dl.llm import train
from mit_dl.llm.config import GPTConfig

TINY = dict(vocab_size=300, context=32, d_model=32, num_heads=2, num_layers=1, ff_dim=64, batch_size=8, steps=30)

if __name__ == "__main__":
    config = GPTConfig.from_preset("quick", checkpoint_every=10, warmup_steps=5, **TINY)
    train.train(config, sys.argv[1], export=False, baseline=False, log=lambda *a: None)
