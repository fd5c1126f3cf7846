"""Judges of style: the offline classifier, and the HTTP judge against a real server on 127.0.0.1."""

import numpy as np
import pytest

from mit_dl.errors import ConfigError
from mit_dl.llm import styles
from mit_dl.llm.judge import HttpJudge, StyleJudge


def test_the_style_judge_tells_pirate_answers_from_documentation_and_reloads(tmp_path):
    examples = styles.pirate_examples()
    judge = StyleJudge.fit([a for _, a in examples], [p for p, _ in examples], epochs=100)
    assert judge.accuracy >= 0.95
    path = judge.save(tmp_path / "judge.npz")
    again = StyleJudge.load(path)
    texts = ["Avast, ye be printin' th' value, matey. Arr!", "The value is printed."]
    np.testing.assert_allclose(again.score(texts), judge.score(texts))
    assert again.accuracy == judge.accuracy and judge.score(texts)[0] > 0.5 > judge.score(texts)[1]


def test_the_http_judge_asks_a_chat_endpoint_yes_or_no(endpoint):
    judge = HttpJudge("a pirate's voice", endpoint.url, "judge-model", api_key="secret")
    assert judge.score(["Ahoy, matey. Arr!", "Hello, friend."]).tolist() == [1.0, 0.0]
    path, authorization, body = endpoint.seen[0]
    assert path == "/v1/chat/completions" and authorization == "Bearer secret"
    assert body["model"] == "judge-model" and "a pirate's voice" in body["messages"][-1]["content"]


def test_an_unreachable_endpoint_is_one_sentence():
    judge = HttpJudge("a pirate's voice", "http://127.0.0.1:9/v1", "m", api_key="k", timeout=2)
    with pytest.raises(ConfigError, match="did not answer as an OpenAI-compatible endpoint"):
        judge.score(["Arr"])
