#!/usr/bin/python3
"""An agent that makes one model call through the pod's LLM gateway (plain HTTP, OpenAI's chat
API) and answers with what came back, or with the HTTP status it got instead. For the provider
throttling end-to-end tests; nothing here is a real agent."""
import json
import os
import urllib.error
import urllib.request

request = urllib.request.Request(
    os.environ["OPENAI_BASE_URL"] + "/chat/completions",
    data=json.dumps({"model": "gpt-4o-mini",
                     "messages": [{"role": "user", "content": "hi"}]}).encode(),
    headers={"Authorization": "Bearer " + os.environ["OPENAI_API_KEY"],
             "Content-Type": "application/json"},
)
try:
    with urllib.request.urlopen(request, timeout=120) as response:
        status = response.status
        answer = json.load(response)["choices"][0]["message"]["content"]
except urllib.error.HTTPError as error:
    status = error.code
    answer = "http %d" % error.code
with open(os.environ["AGENTPOD_OUTPUT"], "w") as output:
    json.dump({"answer": answer, "status": status}, output)
