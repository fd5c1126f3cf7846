"""Fixtures the LLM tests share: an OpenAI-compatible chat endpoint served on 127.0.0.1."""

import http.server
import json
import threading
import types

import pytest


class ChatEndpoint(http.server.BaseHTTPRequestHandler):
    """An OpenAI-compatible chat endpoint that says yes to texts with "Arr" in them; ``seen`` keeps each request."""

    seen = []

    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
        ChatEndpoint.seen.append((self.path, self.headers["Authorization"], body))
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
    """The endpoint: ``.url`` (``http://127.0.0.1:PORT/v1``) and ``.seen``, the requests it received."""
    ChatEndpoint.seen.clear()
    server = http.server.HTTPServer(("127.0.0.1", 0), ChatEndpoint)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield types.SimpleNamespace(url=f"http://127.0.0.1:{server.server_address[1]}/v1", seen=ChatEndpoint.seen)
    server.shutdown()
