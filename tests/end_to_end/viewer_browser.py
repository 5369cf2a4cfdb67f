"""`agentpod view` in a real browser: Debian's chromium, driven by Playwright (pointed at the
system browser; Playwright's own browser builds are never downloaded).

Usage: viewer_browser.py BASE_URL SHOW_BASELINE SHOW_CANDIDATE COMPARE_JSON SCREENSHOTS_DIR

BASE_URL is the address `agentpod view` printed (with its access token); SHOW_* are `agentpod show RUN --json` of the
two runs (the baseline ran first), COMPARE_JSON `agentpod compare CANDIDATE BASELINE --format
json` (the runs page lists the newest first, so the candidate is the first checked). Opens the
runs list, a run, an issue, the comparison and the proposals by clicking through, asserts each
number shown equals the store's, that no page logs an error or fails a request, and saves a
screenshot of each page. Exits non-zero with the failed assertion on any mismatch.
"""

import json
import pathlib
import shutil
import sys

from playwright.sync_api import sync_playwright

printed_url, show_baseline, show_candidate, compare_json, shots = sys.argv[1:6]
# The printed address carries the access token; its first page leaves the cookie the links use.
base = printed_url.split("/runs")[0]
baseline = json.loads(pathlib.Path(show_baseline).read_text())
candidate = json.loads(pathlib.Path(show_candidate).read_text())
comparison = json.loads(pathlib.Path(compare_json).read_text())
shots = pathlib.Path(shots)
shots.mkdir(parents=True, exist_ok=True)
chromium = shutil.which("chromium") or shutil.which("chromium-browser")
assert chromium, "these tests need Debian's chromium: apt-get install -y chromium"

problems = []


def expect(condition, message):
    if not condition:
        problems.append(message)


def number(locator):
    return float(locator.get_attribute("data-value"))


with sync_playwright() as playwright:
    # --no-sandbox: tests run as root, where chromium's own sandbox cannot start.
    browser = playwright.chromium.launch(executable_path=chromium, args=["--no-sandbox"])
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.on(
        "console",
        lambda message: problems.append(f"console {message.type}: {message.text}")
        if message.type == "error"
        else None,
    )
    page.on("pageerror", lambda error: problems.append(f"page error: {error}"))
    page.on("requestfailed", lambda request: problems.append(f"request failed: {request.url}"))
    page.on(
        "response",
        lambda response: problems.append(f"{response.status} for {response.url}")
        if response.status >= 400
        else None,
    )

    # The runs list: each run's figures are its stored summary's.
    page.goto(printed_url)
    for show in (baseline, candidate):
        run_id = show["run"]["id"]
        summary = show["summary"]
        row = page.locator(f'tr.run[data-run="{run_id}"]')
        expect(row.count() == 1, f"runs page: one row for {run_id}")
        expect(
            number(row.locator("td.pass-rate")) == summary["pass_rate"],
            f"runs page: pass rate of {run_id}",
        )
        expect(
            number(row.locator("td.violations")) == summary["boundary"]["violations"],
            f"runs page: violations of {run_id}",
        )
        cost = (summary["usage"].get("cost_usd_per_issue") or {}).get("mean")
        if cost is not None:
            expect(
                number(row.locator("td.cost-per-issue")) == cost,
                f"runs page: cost per issue of {run_id}",
            )
        p95 = (summary.get("seconds_per_issue") or {}).get("p95")
        if p95 is not None:
            expect(
                number(row.locator("td.p95-seconds")) == p95,
                f"runs page: p95 time of {run_id}",
            )
    expect(page.locator("table.trend tr.version").count() == 2, "a trend row per agent version")
    page.screenshot(path=str(shots / "runs.png"), full_page=True)

    # Click through to the candidate run: the report's cards, counted as the store counts.
    run_id = candidate["run"]["id"]
    page.click(f'tr.run[data-run="{run_id}"] a.run-link')
    page.wait_for_url(f"{base}/runs/{run_id}")
    issues = candidate["summary"]["issues"]
    finished = issues["passed"] + issues["failed"] + issues["errored"]
    cards = page.locator("section.cards").inner_text()
    expect(
        f"{issues['passed']} of {finished}" in cards,
        f"run page: '{issues['passed']} of {finished}' in the pass-rate card: {cards!r}",
    )
    expect(
        page.locator("a.issue-link").count() == len({o["issue_id"] for o in candidate["outcomes"]}),
        "run page: a link per issue",
    )
    page.screenshot(path=str(shots / "run.png"), full_page=False)

    # Click the first issue: its trial's outcome is the store's.
    link = page.locator("a.issue-link").first
    issue_id = link.inner_text()
    link.click()
    page.wait_for_selector("section.trial")
    outcome = next(
        o for o in candidate["outcomes"] if o["issue_id"] == issue_id and o["trial"] == 1
    )
    trial = page.locator('section.trial[data-trial="1"]')
    expect(
        trial.locator("dd.status").get_attribute("data-value") == outcome["status"],
        f"issue page: status of {issue_id}",
    )
    expect(
        number(trial.locator("dd.duration")) == outcome["duration_ms"],
        f"issue page: time of {issue_id}",
    )
    expect(
        number(trial.locator("dd.tool-calls")) == outcome["usage"]["tool_calls"],
        f"issue page: tool calls of {issue_id}",
    )
    if outcome["usage"].get("cost_usd") is not None:
        expect(
            number(trial.locator("dd.cost")) == outcome["usage"]["cost_usd"],
            f"issue page: cost of {issue_id}",
        )
    steps = trial.locator("ol.steps > li")
    # "Steps 1–N of M": every model and tool call the gateways counted is a step.
    heading = trial.locator("h4", has_text="Steps").inner_text()
    recorded = int(heading.rsplit(" of ", 1)[1]) if " of " in heading else 0
    calls = outcome["usage"]["llm_calls"] + outcome["usage"]["tool_calls"]
    expect(recorded >= calls, f"issue page: {recorded} steps for {calls} calls of {issue_id}")
    expect(steps.count() == min(100, recorded), f"issue page: one line per step ({heading})")
    if steps.count() > 0:
        steps.first.locator("summary").click()
        expect(steps.first.locator("pre").is_visible(), "a step opens to its detail")
    page.screenshot(path=str(shots / "issue.png"), full_page=True)

    # Back to the runs, check both, compare: the comparison's figures.
    page.goto(f"{base}/runs")
    page.check(f'tr.run[data-run="{candidate["run"]["id"]}"] input[type=checkbox]')
    page.check(f'tr.run[data-run="{baseline["run"]["id"]}"] input[type=checkbox]')
    page.click("form.compare button[type=submit]")
    page.wait_for_url(f"{base}/compare?**")
    text = page.locator("body").inner_text()
    other = comparison["runs"][1]
    regressions = other["against_baseline"]["regressions"]
    improvements = other["against_baseline"]["improvements"]
    expect(
        f"Flipped in {other['run_id']}: {regressions} regressions, {improvements} improvements"
        in text,
        f"compare page: flips of {other['run_id']}",
    )
    expect("McNemar p" in text, "compare page: McNemar's test")
    page.screenshot(path=str(shots / "compare.png"), full_page=True)

    # A flipped issue opens on its page in the run where it flipped.
    flips = page.locator("a.flip-link")
    expect(
        flips.count() == regressions + improvements,
        f"compare page: a link per flipped issue ({flips.count()})",
    )
    if flips.count() > 0:
        flipped = flips.first.inner_text()
        flips.first.click()
        page.wait_for_selector("section.trial")
        expect(
            flipped in page.locator("h1").inner_text(),
            f"compare page: the flip of {flipped} opens its issue page",
        )
        page.go_back()

    # The stable address of the same comparison gives the same page.
    page.goto(f"{base}/compare?runs={candidate['run']['id']},{baseline['run']['id']}")
    expect(page.locator("body").inner_text() == text, "compare: /compare?runs=a,b is the same page")

    # Proposals, from the run page's links.
    page.goto(f"{base}/runs/{run_id}")
    page.click("nav.viewer a:has-text('proposals')")
    page.wait_for_url(f"{base}/runs/{run_id}/proposals")
    expect(
        number(page.locator(".proposal-count")) == candidate["summary"]["boundary"]["proposals"],
        "proposals page: the run's proposals",
    )
    page.screenshot(path=str(shots / "proposals.png"), full_page=True)
    browser.close()

for problem in problems:
    print(problem, file=sys.stderr)
sys.exit(1 if problems else 0)
