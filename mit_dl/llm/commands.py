"""`mit-dl llm train | finetune | generate | evaluate | scaling | memory`: what each action runs and prints."""

import pathlib

from mit_dl.cli import out_dir


def finetune(args):
    """Fine-tune a pretrained run on style data (LoRA or every weight), measure, export.

    Args:
        args: the parsed command line; ``args.config`` is the `FinetuneConfig` its options ask for.
    """
    from mit_dl.llm import finetune as llm_finetune

    config = args.config
    llm_finetune.finetune(config, out_dir(args, f"llm-finetune-{config.method}"))


def compare(args):
    """Base, LoRA and full fine-tuning side by side: style loss, judged share in style, template adherence.

    Args:
        args: the parsed command line.
    """
    from mit_dl.llm import compare as llm_compare

    out = out_dir(args, "llm-compare")
    http_judge = None
    if args.judge_url:
        from mit_dl.llm.judge import HttpJudge

        http_judge = HttpJudge(args.judge_style, args.judge_url, args.judge_model)
    result = llm_compare.compare(args.base, args.runs, out, args.prompts, args.max_tokens, http_judge=http_judge)
    print(llm_compare.comparison_table(result))
    print(f"metrics.json and table.md in {pathlib.Path(out).resolve()}")


def compare_options(parser):
    """The arguments of ``llm compare``.

    Args:
        parser: the action's `argparse` parser.
    """
    parser.add_argument(
        "--base", required=True, help="the pretraining run (or keras-hub preset) the fine-tuning runs started from"
    )
    parser.add_argument("--runs", nargs="+", required=True, help="fine-tuning run directories (same data)")
    parser.add_argument("--prompts", type=int, default=20, help="held-out prompts each model answers (default: 20)")
    parser.add_argument("--max-tokens", type=int, default=60, help="most tokens per answer (default: 60)")
    parser.add_argument(
        "--judge-url",
        help="also ask an OpenAI-compatible endpoint (e.g. https://api.openai.com/v1; key: $OPENAI_API_KEY) "
        "whether each answer is in the style",
    )
    parser.add_argument("--judge-model", default="gpt-4o-mini", help="the endpoint's model (default: gpt-4o-mini)")
    parser.add_argument(
        "--judge-style",
        default="Shakespeare's verse",
        help="the style in words, as the endpoint is asked about it (default: Shakespeare's verse)",
    )


def generate(args):
    """Print samples of an exported (or trained) model's continuation of a prompt.

    Args:
        args: the parsed command line.
    """
    from mit_dl.llm import generate as llm_generate

    texts = llm_generate.generate(
        args.model,
        args.prompt.replace("\\n", "\n"),
        args.max_tokens,
        args.temperature,
        args.seeds,
        args.top_k,
        args.top_p,
    )
    for seed, text in zip(args.seeds, texts):
        print(f"--- seed {seed}\n{args.prompt.replace(chr(92) + 'n', chr(10))}{text}")


def generate_options(parser):
    """The arguments of ``llm generate``.

    Args:
        parser: the action's `argparse` parser.
    """
    parser.add_argument("--model", required=True, help="a run directory (its saved_model/) or a SavedModel folder")
    parser.add_argument("--prompt", default="", help='the text to continue ("\\n" is a new line; default: none)')
    parser.add_argument("--max-tokens", type=int, default=100, help="most tokens to draw (default: 100)")
    parser.add_argument("--temperature", type=float, default=0.8, help="sampling temperature (default: 0.8)")
    parser.add_argument("--top-k", type=int, default=0, help="draw among the k likeliest tokens (default: 0, all)")
    parser.add_argument("--top-p", type=float, default=0.95, help="nucleus sampling's p (default: 0.95)")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2], help="one sample per seed (default: 0 1 2)")


def evaluate(args):
    """Score texts under several models: mean cross-entropy per token of each file's lines, one table.

    Args:
        args: the parsed command line.
    """
    from mit_dl.llm import evaluate as llm_evaluate

    table = llm_evaluate.score_models(args.models, args.texts)
    print(llm_evaluate.score_table(table))


def evaluate_options(parser):
    """The arguments of ``llm evaluate``.

    Args:
        parser: the action's `argparse` parser.
    """
    parser.add_argument("--models", nargs="+", required=True, help="run directories or SavedModel folders")
    parser.add_argument("--texts", nargs="+", required=True, help="text files, each scored line by line")


def memory(args):
    """Print the memory per device of training a GPT under data, FSDP / ZeRO and tensor parallelism.

    Args:
        args: the parsed command line; ``args.config`` is the `GPTConfig` its options ask for.
    """
    from mit_dl.llm import memory as llm_memory

    print(llm_memory.memory_table(args.config, args.devices, args.bytes_per_number))
    if args.measure:
        print("\n".join(llm_memory.measured_lines(args.config, args.config.vocab_size)))


def memory_options(parser):
    """The arguments of ``llm memory``.

    Args:
        parser: the action's `argparse` parser.
    """
    parser.add_argument("--devices", type=int, default=8, help="devices the model is spread over (default: 8)")
    parser.add_argument(
        "--bytes-per-number", type=int, default=4, help="bytes of each weight and activation (default: 4, float32)"
    )
    parser.add_argument(
        "--measure",
        action="store_true",
        help="also run one training step and print what it allocated beside the formulas (the peak on a GPU)",
    )


def scaling(args):
    """Run the scaling-law sweep (model sizes at fixed data, data sizes at fixed model, iso-compute) and fit it.

    Args:
        args: the parsed command line; ``args.config`` is the `GPTConfig` the sweep starts from.
    """
    from mit_dl.llm import scaling as llm_scaling

    out = out_dir(args, "llm-scaling")
    llm_scaling.sweep(args.config, out)
    print(f"figures, metrics.json and table.md in {pathlib.Path(out).resolve()}")
