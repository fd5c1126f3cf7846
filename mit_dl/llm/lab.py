"""The LLM lab's entry in the registry (`mit_dl.registry`): MIT's Lab 3 and CSC413's large models."""

from mit_dl.cli import train_with
from mit_dl.llm import commands
from mit_dl.llm.config import FinetuneConfig, GPTConfig
from mit_dl.registry import Command, DemoPart, Lab

LAB = Lab(
    name="llm",
    title="Large language models",
    course="Lab 3",
    summary="a GPT from the lecture layers: BPE, pretraining, LoRA fine-tuning, a judge, scaling laws",
    lectures=(
        "Lab 3 (2025-2026): fine-tuning an LLM with LoRA on a style, the answer-only loss, an LLM judge",
        "CSC413 11 and 16: large-scale generative models, scaling laws, data and model parallelism",
    ),
    commands=(
        Command(
            "train",
            "pretrain a GPT on a corpus (a byte-level BPE learned from it), report held-out bits per character "
            "beside a Kneser-Ney n-gram, export generate / score",
            train_with("mit_dl.llm.train", lambda config: f"llm-{config.preset}"),
            GPTConfig,
            out="run directory (default: runs/llm-<preset>-<time>)",
        ),
        Command(
            "finetune",
            "fine-tune a pretrained run on style data with the loss on the answers only: LoRA or every weight",
            commands.finetune,
            FinetuneConfig,
            out="run directory (default: runs/llm-finetune-<method>-<time>)",
        ),
        Command(
            "compare",
            "base, LoRA and full fine-tuning side by side: the held-out answers' loss, the share a style judge "
            "calls in the style, template adherence",
            commands.compare,
            options=commands.compare_options,
            out="the comparison's folder (default: runs/llm-compare-<time>)",
        ),
        Command(
            "generate",
            "continue a prompt with an exported model (key/value cache, temperature, top-k, top-p)",
            commands.generate,
            options=commands.generate_options,
        ),
        Command(
            "evaluate",
            "score text files line by line under several models: mean cross-entropy per token",
            commands.evaluate,
            options=commands.evaluate_options,
        ),
        Command(
            "scaling",
            "train GPTs of 6 sizes, on 4 data sizes and on 3 compute budgets; fit the power laws",
            commands.scaling,
            GPTConfig,
            out="the sweep's folder (default: runs/llm-scaling-<time>)",
            exclude=("d_model", "num_heads", "num_layers", "ff_dim", "seed"),
        ),
        Command(
            "memory",
            "memory per device and bytes sent per step of training the config's GPT under data parallelism, "
            "ZeRO / FSDP and tensor parallelism",
            commands.memory,
            GPTConfig,
            commands.memory_options,
            exclude=(
                "data",
                "held_out",
                "steps",
                "learning_rate",
                "warmup_steps",
                "weight_decay",
                "clip_norm",
                "dropout",
                "seed",
                "precision",
                "distribute",
                "checkpoint_every",
            ),
        ),
    ),
    configs=(GPTConfig, FinetuneConfig),
    demo=DemoPart(
        "mit_dl.llm.demo:run",
        seconds=170,  # 43 s measured on the fast kind beside another training run, times 4
        describe="a BPE and a small GPT on Python's own docs, then LoRA teaches it a style; the cached sampler",
    ),
    assets="mit_dl.llm.assets:build",
    graders=("llm",),
    notebooks=("llm/llm",),
    exports=("language model",),
    rebuild=None,
    benchmark="llm",
)
