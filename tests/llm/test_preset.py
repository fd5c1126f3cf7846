"""A keras-hub GPT-2 preset as the base of fine-tuning, offline: a tiny random GPT-2 saved as a local preset.

The preset is what ``GPT2CausalLM.save_to_preset`` writes (config, weights, GPT-2 tokenizer files), so
the same code loads ``gpt2_base_en`` for a user with internet; here its vocabulary is a small BPE
learned from the style text. Tested: the converted GPT gives keras-hub's logits and its tokenizer
GPT-2's ids; ``mit-dl llm finetune --base PRESET`` trains LoRA on it and exports; ``compare`` reads
the preset base and asks an HTTP judge (a server on 127.0.0.1); bad presets are one sentence.
"""

import json

import numpy as np
import pytest
from support import mit_dl_in_process

from mit_dl.llm import compare, styles
from mit_dl.llm.hub import load_preset
from mit_dl.llm.judge import HttpJudge
from mit_dl.llm.tokenizer import ASSISTANT, END, USER, train_tokenizer

TEXT = "Avast, the module be loaded. Arr! Where be the value, matey?"


def _gpt2_files(examples):
    """GPT-2 tokenizer files (vocabulary with the end token only, merges) of a BPE learned from the examples."""
    learned = json.loads(train_tokenizer([a for _, a in examples] * 3, 400).library.to_str())["model"]
    kept = sorted((t for t in learned["vocab"] if t not in (USER, ASSISTANT)), key=learned["vocab"].get)
    merges = [m if isinstance(m, str) else " ".join(m) for m in learned["merges"]]
    return {token: i for i, token in enumerate(kept)}, merges


@pytest.fixture(scope="module")
def preset(tmp_path_factory):
    import keras
    import keras_hub

    examples = styles.pirate_examples(120)
    vocabulary, merges = _gpt2_files(examples)
    keras.utils.set_random_seed(0)
    tokenizer = keras_hub.models.GPT2Tokenizer(vocabulary=vocabulary, merges=merges)
    backbone = keras_hub.models.GPT2Backbone(
        vocabulary_size=len(vocabulary),
        num_layers=2,
        num_heads=2,
        hidden_dim=32,
        intermediate_dim=64,
        max_sequence_length=96,
        dropout=0.0,
    )
    preprocessor = keras_hub.models.GPT2CausalLMPreprocessor(tokenizer, sequence_length=32)
    folder = tmp_path_factory.mktemp("hub") / "tiny_gpt2"
    keras_hub.models.GPT2CausalLM(backbone, preprocessor).save_to_preset(str(folder))
    style = styles.write_examples(examples, tmp_path_factory.mktemp("style") / "pirate.jsonl")
    return folder, backbone, tokenizer, style


def test_the_preset_becomes_the_lab_gpt_with_keras_hubs_logits_and_gpt2s_ids(preset):
    folder, backbone, hub_tokenizer, _ = preset
    model, config, tokenizer = load_preset(str(folder))
    assert config.approximate_gelu and (config.context, config.d_model, config.num_layers) == (96, 32, 2)
    ids = tokenizer.encode(TEXT)
    assert ids == np.asarray(hub_tokenizer(TEXT)).tolist()
    assert tokenizer.end_id == hub_tokenizer.vocabulary[END]
    # The template's two tokens come after GPT-2's vocabulary.
    assert (tokenizer.user_id, tokenizer.assistant_id) == (backbone.vocabulary_size, backbone.vocabulary_size + 1)
    tokens = np.array([ids], "int32")
    hidden = backbone({"token_ids": tokens, "padding_mask": np.ones_like(tokens)})
    theirs = backbone.token_embedding(hidden, reverse=True).numpy()
    np.testing.assert_allclose(model(tokens).numpy()[..., : backbone.vocabulary_size], theirs, atol=1e-5)


def test_lora_fine_tunes_the_preset_through_the_cli_and_compare_asks_the_http_judge(preset, tmp_path, endpoint):
    folder, _, _, style = preset
    out = tmp_path / "lora"
    flags = ["--steps", "30", "--batch-size", "8", "--warmup-steps", "2", "--learning-rate", "0.01"]
    # The command's own code path (`mit_dl.cli.main`) in this process: no second TensorFlow start-up.
    result = mit_dl_in_process("llm", "finetune", "--base", folder, "--data", style, *flags, "--out", out)
    assert result.returncode == 0, result.stderr[-3000:]
    metrics = json.loads((out / "metrics.json").read_text())
    assert metrics["answer_cross_entropy"]["finetuned"] < metrics["answer_cross_entropy"]["base"]
    assert metrics["trained_parameters"] == 2 * 2 * 8 * (32 + 32)  # two blocks: query and value, rank 8
    assert json.loads((out / "saved_model" / "metadata.json").read_text())["finetuned_from"] == str(folder)
    judge = HttpJudge("a pirate's voice", endpoint.url, "judge-model", api_key="k")
    result = compare.compare(str(folder), [str(out)], tmp_path / "compare", prompts=2, max_tokens=6, http_judge=judge)
    assert set(result["models"]) == {"base", "lora r=8"}
    assert len(endpoint.seen) == 2 * 2  # every generation of both models asked once
    for row in result["models"].values():
        assert 0 <= row["judged_in_style_http"] <= 1 and 0 <= row["judged_in_style"] <= 1
    assert "HTTP judge: in style" in (tmp_path / "compare" / "table.md").read_text()


def test_a_preset_that_does_not_load_is_one_sentence(tmp_path, preset):
    _, _, _, style = preset
    for base in ("no_such_preset", tmp_path / "missing_folder"):
        result = mit_dl_in_process("llm", "finetune", "--base", base, "--data", style, "--out", tmp_path / "w")
        assert result.returncode == 2 and "nor a keras-hub preset that loads here" in result.stderr, result.stderr
        assert "needs internet the first time, or give a local preset folder" in result.stderr
        assert len(result.stderr.strip().splitlines()) == 1
    assert not (tmp_path / "w").exists()
