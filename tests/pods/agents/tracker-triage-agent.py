#!/usr/bin/python3
"""A keyword triage agent for the issue-source end-to-end tests: it reads whatever issue it is
given (a GitHub issue, a Jira issue, a Zendesk ticket, as `import-issues` writes them) and
answers every question those tests ask: the GitHub `kind`, the Jira `priority`, the Zendesk
`type`. It is right on most issues and wrong on one of each, by design. It also reports the
keys it was given, so the tests can see that no answer reached it. Nothing here is a real agent.
"""
import json
import os

issue = json.load(open(os.environ["AGENTPOD_ISSUE"]))
text = " ".join(str(value) for value in issue.values()).lower()
title = str(issue.get("title") or issue.get("subject") or issue.get("summary") or "").lower()

if any(word in text for word in ("crash", "error", "panic", "崩溃")):
    kind = "bug"
elif title.startswith("how") or "?" in title:
    kind = "question"
else:
    kind = "feature"

if any(word in text for word in ("down for", "outage", "all users")):
    priority = "Highest"
elif any(word in text for word in ("crash", "error", "500")):
    priority = "High"
elif any(word in text for word in ("typo", "cosmetic")):
    priority = "Low"
else:
    priority = "Medium"

if title.startswith("how") or "?" in title:
    ticket_type = "question"
elif any(word in text for word in ("broken", "not working", "error")):
    ticket_type = "incident"
else:
    ticket_type = "task"

with open(os.environ["AGENTPOD_OUTPUT"], "w") as output:
    json.dump({"kind": kind, "priority": priority, "type": ticket_type,
               "given_keys": sorted(issue)}, output)
