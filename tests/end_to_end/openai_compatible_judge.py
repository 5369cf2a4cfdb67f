"""A judge model server for the judge's record/replay test (judge_and_customer.rs): an
OpenAI-compatible `POST /v1/chat/completions` on 127.0.0.1 that follows the rubric of that test
(pass when the user message says "store credit of 40.00"), with usage in every answer. No real
model provider can be reached from this machine; this stands in for one, over real HTTP, so the
judge's gateway records real exchanges. Prints its port, then serves until killed; every request
it answered is appended to the file given as its first argument.
"""
import json
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

LOG = sys.argv[1]


class Judge(BaseHTTPRequestHandler):
    def do_POST(self):
        body = json.loads(self.rfile.read(int(self.headers["content-length"])))
        user = "\n".join(m["content"] for m in body["messages"] if m["role"] == "user")
        passed = "store credit of 40.00" in user
        verdict = {
            "verdict": "pass" if passed else "fail",
            "reasoning": "names the credit" if passed else "does not name the credit",
        }
        answer = {
            "id": "judge-1",
            "object": "chat.completion",
            "model": body["model"],
            "choices": [{"index": 0, "finish_reason": "stop",
                         "message": {"role": "assistant", "content": json.dumps(verdict)}}],
            "usage": {"prompt_tokens": 120, "completion_tokens": 12, "total_tokens": 132},
        }
        data = json.dumps(answer).encode()
        with open(LOG, "a") as log:
            log.write(json.dumps({"seed": body.get("seed")}) + "\n")
        self.send_response(200)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, *args):
        pass


server = ThreadingHTTPServer(("127.0.0.1", 0), Judge)
print(server.server_address[1], flush=True)
server.serve_forever()
