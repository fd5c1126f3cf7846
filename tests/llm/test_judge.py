"""Judges of style: the offline classifier, and the HTTP judge against a real server on 127.0.0.1."""

import http.server
import json
import threading

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


class _Endpoint(http.server.BaseHTTPRequestHandler):
    """An OpenAI-compatible chat endpoint that says yes to texts with "Arr" in them."""

    seen = []

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        _Endpoint.seen.append((self.path, self.headers["Authorization"], body))
        answer = "Yes." if "Arr" in body["messages"][-1]["content"] else "no"
        reply = json.dumps({"choices": [{"message": {"role": "assistant", "content": answer}}]}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args):
        pass


@pytest.fixture
def endpoint():
    server = http.server.HTTPServer(("127.0.0.1", 0), _Endpoint)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    server.shutdown()


def test_the_http_judge_asks_a_chat_endpoint_yes_or_no(endpoint):
    _Endpoint.seen.clear()
    judge = HttpJudge("a pirate's voice", endpoint, "judge-model", api_key="secret")
    assert judge.score(["Ahoy, matey. Arr!", "Hello, friend."]).tolist() == [1.0, 0.0]
    path, authorization, body = _Endpoint.seen[0]
    assert path == "/v1/chat/completions" and authorization == "Bearer secret"
    assert body["model"] == "judge-model" and "a pirate's voice" in body["messages"][-1]["content"]


def test_an_unreachable_endpoint_is_one_sentence():
    judge = HttpJudge("a pirate's voice", "http://127.0.0.1:9/v1", "m", api_key="k", timeout=2)
    with pytest.raises(ConfigError, match="did not answer as an OpenAI-compatible endpoint"):
        judge.score(["Arr"])
