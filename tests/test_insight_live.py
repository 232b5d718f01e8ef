"""After the shipped QA flows ran against a live `ivr serve`, its store tells the same story the flows heard."""

from __future__ import annotations

import json
from collections import Counter
from pathlib import Path

from ivr.qa.runner import RunOptions, find_flow_files, run_flows
from ivr.store import Store
from tests.conftest import SHIPPED_MENU
from tests.server import running_server
from tests.test_history import as_heard
from tests.webhooks import TOKEN
from tests.workspace import ROOT, run_ivr

WHOLE_RANGE = ("--since", "2000-01-01", "--until", "2100-01-01")


def test_stats_and_transcripts_match_the_flows_run_against_a_live_server(tmp_path: Path) -> None:
    """`ivr stats --json` counts the flows' calls, transfers per queue and tickets; `ivr calls show` replays what a flow heard."""
    flows = find_flow_files([ROOT / "tests" / "flows"])
    with running_server(tmp_path, IVR_TEST_CLOCK="1") as server:
        results = run_flows(flows, RunOptions(SHIPPED_MENU, url=server.url, auth_token=TOKEN), workers=2)
        db_url = server.db_url
    assert {r.status for r in results} == {"passed"}, [(r.path, r.message) for r in results if r.status != "passed"][:3]
    assert all(r.call_sid for r in results)

    env = {"IVR_DATABASE_URL": db_url}
    stats = run_ivr("stats", "--json", *WHOLE_RANGE, env=env)
    assert stats.returncode == 0, stats.stderr
    figures = json.loads(stats.stdout)
    heard = [line for r in results for line in r.lines]
    assert figures["calls"] == len(results)
    transfers = Counter(line["queue"] for line in heard if line["type"] == "transfer")
    assert {q["queue"]: q["dialled"] for q in figures["transfers"] if q["dialled"]} == dict(transfers)
    tickets = Counter(line["category"] for line in heard if line["type"] == "ticket")
    assert figures["tickets"]["by_category"] == dict(tickets) and figures["tickets"]["total"] == sum(tickets.values())

    # Every call's stored story is what its flow heard (words said are checked on the replayed call below).
    store = Store(db_url)
    try:
        stories = store.history.lines_of(r.call_sid for r in results)
    finally:
        store.close()
    differ = [
        r.path for r in results if as_heard((x.line for x in stories.get(r.call_sid, [])), speech=False) != as_heard(r.lines, speech=False)
    ]
    assert differ == []

    # And `ivr calls show` replays a call said and pressed through to the orders queue exactly as it was heard.
    (chosen,) = [r for r in results if r.path.endswith("speech_order_lookup.yaml")]
    assert any("speech" in line for line in chosen.lines) and any(line["type"] == "transfer" for line in chosen.lines)
    shown = run_ivr("calls", "show", chosen.call_sid, "--json", env=env)
    assert shown.returncode == 0, shown.stderr
    assert as_heard(json.loads(line) for line in shown.stdout.splitlines()) == as_heard(chosen.lines)
