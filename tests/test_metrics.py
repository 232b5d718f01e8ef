"""Prometheus metrics: /metrics behind a bearer token, and totals that add up over every gunicorn worker."""

from __future__ import annotations

import os
import re
import signal
import threading
import urllib.error
import urllib.request
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from prometheus_client.parser import text_string_to_metric_families

from ivr.store.spool import SpoolingTicketSink
from ivr.store.tickets import TicketStore, sqlite_url
from ivr.testing.phone import HttpTransport, PhoneCall, Reply
from ivr.web import metrics
from tests.conftest import AFTER_HOURS, IN_HOURS
from tests.server import Server, running_server
from tests.test_spool import request as ticket_request
from tests.waiting import wait_until
from tests.webhooks import TOKEN, Clock, make_app
from tests.workspace import copy_workspace

METRICS_TOKEN = "metrics-token-5b2f0c9e"
Samples = dict[tuple[str, tuple[tuple[str, str], ...]], float]


def samples(text: str) -> Samples:
    """Every sample of an exposition, by name and sorted labels."""
    found: Samples = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[sample.name, tuple(sorted(sample.labels.items()))] = sample.value
    return found


def total(found: Samples, name: str, **labels: str) -> float:
    """The sum of `name` over the samples whose labels include `labels`."""
    return sum(value for (n, ls), value in found.items() if n == name and set(labels.items()) <= set(ls))


def get(url: str, token: str | None = METRICS_TOKEN) -> tuple[int, str, dict[str, str]]:
    """GET `url` (with the bearer token unless None): status, body and headers."""
    headers = {"Authorization": f"Bearer {token}"} if token is not None else {}
    try:
        with urllib.request.urlopen(urllib.request.Request(url, headers=headers), timeout=5) as response:
            return response.status, response.read().decode(), dict(response.headers.items())
    except urllib.error.HTTPError as exc:
        with exc:
            return exc.code, exc.read().decode(), dict(exc.headers.items())


class CountingTransport(HttpTransport):
    """HTTP to the server, counting every webhook request sent by path (thread-safe)."""

    def __init__(self, base_url: str) -> None:
        super().__init__(base_url)
        self.sent: Counter[str] = Counter()
        self._lock = threading.Lock()

    def post(self, path: str, form: dict[str, str], headers: dict[str, str]) -> Reply:
        """POST, counted."""
        with self._lock:
            self.sent[path.split("?", maxsplit=1)[0]] += 1
        return super().post(path, form, headers)


def scrape(server: Server) -> Samples:
    """The server's metrics, read with the token."""
    status, body, _ = get(server.url + "/metrics")
    assert status == 200, body
    return samples(body)


def worker_pids(server: Server) -> list[int]:
    """The pids of the workers gunicorn booted, in order, from its log."""
    return [int(pid) for pid in re.findall(r"Booting worker with pid: (\d+)", server.log.read_text(errors="replace"))]


def test_metrics_are_not_served_without_a_token(tmp_path: Path) -> None:
    """Off by default: no IVR_METRICS_TOKEN, no /metrics (404 whatever is sent) and no metrics folder."""
    app = make_app(f"sqlite:///{tmp_path / 'a.sqlite3'}", Clock(), IVR_SPOOL_DIR=str(tmp_path / "spool"))
    assert app.test_client().get("/metrics").status_code == 404
    assert app.test_client().get("/metrics", headers={"Authorization": "Bearer "}).status_code == 404
    (tmp_path / "tmp").mkdir()
    with running_server(tmp_path, workers=1, TMPDIR=str(tmp_path / "tmp")) as server:
        assert get(server.url + "/metrics")[0] == 404
        assert get(server.url + "/metrics", token=None)[0] == 404
    assert not list((tmp_path / "tmp").glob("ivr-metrics-*"))


def test_a_missing_or_wrong_token_is_refused_with_a_challenge(tmp_path: Path) -> None:
    """401 and WWW-Authenticate for no token, a wrong one, another scheme; 200 for the right bearer."""
    app = make_app(f"sqlite:///{tmp_path / 'a.sqlite3'}", Clock(), IVR_SPOOL_DIR=str(tmp_path / "spool"), IVR_METRICS_TOKEN=METRICS_TOKEN)
    client = app.test_client()
    missing = client.get("/metrics")
    assert missing.status_code == 401 and missing.headers["WWW-Authenticate"] == 'Bearer realm="metrics"'
    for wrong in ("Bearer nope", f"Bearer {METRICS_TOKEN}x", f"Basic {METRICS_TOKEN}", "Bearer", f"Bearer {METRICS_TOKEN[:-1]}"):
        refused = client.get("/metrics", headers={"Authorization": wrong})
        assert refused.status_code == 401, wrong
        assert refused.headers["WWW-Authenticate"] == 'Bearer realm="metrics", error="invalid_token"'
        assert "ivr_" not in refused.get_data(as_text=True)
    ok = client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"})
    assert ok.status_code == 200 and ok.headers["Cache-Control"] == "no-store"
    found = samples(ok.get_data(as_text=True))
    assert total(found, "ivr_menu_info", menu="volcengine-aftersales") == 1
    assert total(found, "ivr_spool_depth") == 0 and total(found, "ivr_menu_reload_error") == 0
    assert client.post("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).status_code == 405


def test_call_events_count_and_never_raise(tmp_path: Path) -> None:
    """The functions the voice service calls: counts by outcome and by queue and result, odd input ignored."""
    app = make_app(f"sqlite:///{tmp_path / 'a.sqlite3'}", Clock(), IVR_SPOOL_DIR=str(tmp_path / "spool"), IVR_METRICS_TOKEN=METRICS_TOKEN)
    client = app.test_client()
    auth = {"Authorization": f"Bearer {METRICS_TOKEN}"}
    before = samples(client.get("/metrics", headers=auth).get_data(as_text=True))
    metrics.call_started()
    metrics.call_started()
    metrics.call_ended("agent")
    metrics.call_ended("no-such-outcome")
    metrics.step_lines(
        [
            {"type": "move", "node": "to_orders", "trigger": "answered", "to": "done", "queue": "orders"},
            {"type": "move", "node": "to_orders", "trigger": "transfer_failed", "to": "sorry", "queue": "orders"},
            {"type": "move", "node": "main", "trigger": "key_1", "to": "to_orders"},  # not a transfer's end
            {"type": "say", "node": "main", "lang": "zh-CN", "text": "您好"},
        ]
    )
    metrics.step_lines([{"type": "move"}, {}])  # malformed lines: nothing counted, nothing raised
    after = samples(client.get("/metrics", headers=auth).get_data(as_text=True))

    def delta(name: str, **labels: str) -> float:
        return total(after, name, **labels) - total(before, name, **labels)

    assert delta("ivr_calls_started_total") == 2
    assert delta("ivr_calls_ended_total", outcome="agent") == 1 and delta("ivr_calls_ended_total", outcome="unknown") == 1
    assert delta("ivr_transfers_total", queue="orders", result="answered") == 1
    assert delta("ivr_transfers_total", queue="orders", result="transfer_failed") == 1
    assert delta("ivr_transfers_total") == 2


def test_a_refused_menu_edit_is_counted_once_and_shown_until_fixed(tmp_path: Path) -> None:
    """A broken edit: the reload-error gauge is 1 and the counter goes up by one, however often it is scraped."""
    menu = copy_workspace(tmp_path)
    app = make_app(
        f"sqlite:///{tmp_path / 'a.sqlite3'}",
        Clock(),
        IVR_MENU=str(menu),
        IVR_RELOAD_INTERVAL="0.05",
        IVR_SPOOL_DIR=str(tmp_path / "spool"),
        IVR_METRICS_TOKEN=METRICS_TOKEN,
    )
    client = app.test_client()

    def read() -> Samples:
        return samples(client.get("/metrics", headers={"Authorization": f"Bearer {METRICS_TOKEN}"}).get_data(as_text=True))

    before = read()
    good = total(before, "ivr_menu_info", version=app.extensions["ivr.voice"].engine.menu.version)
    assert good == 1 and total(before, "ivr_menu_reload_error") == 0
    text = menu.read_text(encoding="utf-8")
    menu.write_text(text.replace("      1: business\n", "      1: busines\n", 1), encoding="utf-8")

    def showing(flag: float) -> Samples | None:
        found = read()
        return found if total(found, "ivr_menu_reload_error") == flag else None

    refused = wait_until(lambda: showing(1), timeout=5, message="the refused edit to show")
    counted = total(before, "ivr_menu_reload_errors_total") + 1
    assert total(refused, "ivr_menu_reload_errors_total") == counted
    assert total(refused, "ivr_menu_info", version=app.extensions["ivr.voice"].engine.menu.version) == 1  # the last good one serves
    for _ in range(3):
        assert total(read(), "ivr_menu_reload_errors_total") == counted
    menu.write_text(text, encoding="utf-8")
    fixed = wait_until(lambda: showing(0), timeout=5, message="the fixed menu to show")
    assert total(fixed, "ivr_menu_reload_errors_total") == counted


def test_tickets_count_by_the_path_they_took(tmp_path: Path) -> None:
    """The spool tells of each new ticket once: stored at once (database) or spooled (spool); a repeat is no new ticket."""
    told: list[tuple[str, str]] = []
    folder = tmp_path / "db"
    folder.mkdir()
    store = TicketStore(sqlite_url(folder / "tickets.sqlite3"))
    sink = SpoolingTicketSink(store, tmp_path / "spool")
    sink.on_ticket = lambda category, path: told.append((category, path))
    try:
        number = sink.create_ticket(ticket_request("CA-up"))
        assert sink.create_ticket(ticket_request("CA-up")) == number  # the same call asks again: the same ticket
        assert told == [("voicemail", "database")]
        store.engine.dispose()
        folder.rename(tmp_path / "db-gone")  # the database goes away: the next ticket waits in the spool
        sink.create_ticket(ticket_request("CA-down"))
        sink.create_ticket(ticket_request("CA-down"))
        assert told == [("voicemail", "database"), ("voicemail", "spool")]

        def failing(_category: str, _path: str) -> None:
            raise RuntimeError("a broken hook")

        sink.on_ticket = failing
        assert sink.create_ticket(ticket_request("CA-hook"))  # the caller still gets a number
    finally:
        store.close()


def test_totals_over_four_workers_equal_the_requests_sent(tmp_path: Path) -> None:
    """A bounded load on 4 workers: every scrape, whichever worker answers, shows the totals of all of them."""
    calls = 24  # half in hours (a transfer, answered), half after hours (a message, then a ticket)
    (tmp_path / "tmp").mkdir()
    spool, tmp = str(tmp_path / "spool"), str(tmp_path / "tmp")  # TMPDIR: where the server makes its metrics folder
    with running_server(
        tmp_path, workers=4, IVR_METRICS_TOKEN=METRICS_TOKEN, IVR_TEST_CLOCK="1", IVR_SPOOL_DIR=spool, TMPDIR=tmp
    ) as server:
        assert get(server.url + "/metrics", token=None)[0] == 401
        assert get(server.url + "/metrics", token="wrong")[0] == 401
        transport = CountingTransport(server.url)

        def place(i: int) -> None:
            at = IN_HOURS if i % 2 == 0 else AFTER_HOURS
            phone = PhoneCall(transport, server.url, TOKEN, extra={"IvrTestClock": at.isoformat()}, voicemail=f"message {i}")
            phone.run(["1"])

        with ThreadPoolExecutor(max_workers=8) as pool:
            list(pool.map(place, range(calls), timeout=60))
        sent = sum(transport.sent.values())
        assert transport.sent["/voice/incoming"] == calls and transport.sent["/voice/status"] == calls

        folders = list((tmp_path / "tmp").glob("ivr-metrics-*"))
        assert len(folders) == 1
        # Each worker writes files of its own (named by pid); a scrape adds them up, whichever worker answers it.
        writers = {int(f.stem.rsplit("_", 1)[1]) for f in folders[0].glob("histogram_*.db")}
        assert writers <= set(worker_pids(server)) and len(writers) >= 2, writers
        scrapes = [scrape(server) for _ in range(8)]  # answered by whichever workers gunicorn picks

        def expect(found: Samples) -> None:
            assert total(found, "ivr_step_duration_seconds_count") == sent
            for path, count in transport.sent.items():
                assert total(found, "ivr_step_duration_seconds_count", endpoint=path.removeprefix("/voice/")) == count, path
            assert total(found, "ivr_step_duration_seconds_bucket", le="+Inf") == sent
            assert total(found, "ivr_calls_started_total") == calls
            assert total(found, "ivr_calls_ended_total") == calls
            assert total(found, "ivr_calls_ended_total", outcome="agent") == calls // 2
            assert total(found, "ivr_calls_ended_total", outcome="ticket") == calls // 2
            assert total(found, "ivr_transfers_total", queue="business", result="answered") == calls // 2
            assert total(found, "ivr_transfers_total") == calls // 2
            assert total(found, "ivr_tickets_total", path="database") == calls // 2
            assert total(found, "ivr_tickets_total", path="spool") == 0
            assert total(found, "ivr_spool_depth") == 0
            assert total(found, "ivr_menu_info", menu="volcengine-aftersales") == 1
            assert total(found, "ivr_menu_reload_errors_total") == 0

        for found in scrapes:
            expect(found)

        # A worker that dies takes none of the counts with it: its files stay in the totals.
        first = worker_pids(server)
        assert len(first) == 4
        os.kill(first[0], signal.SIGKILL)
        wait_until(lambda: len(worker_pids(server)) == 5, timeout=10, message="gunicorn to replace the killed worker")
        expect(scrape(server))
    assert not folders[0].exists()  # the private folder goes with the server


def test_an_operators_metrics_folder_is_emptied_at_start_and_kept(tmp_path: Path) -> None:
    """PROMETHEUS_MULTIPROC_DIR set by the operator: files of an earlier run are removed, not added up; the folder stays."""
    folder = tmp_path / "prom"
    folder.mkdir()
    (folder / "counter_999999.db").write_bytes(b"counts of an earlier run")  # unreadable: a scrape would fail on it
    with running_server(tmp_path, workers=2, IVR_METRICS_TOKEN=METRICS_TOKEN, PROMETHEUS_MULTIPROC_DIR=str(folder)) as server:
        assert not (folder / "counter_999999.db").exists()
        transport = CountingTransport(server.url)
        PhoneCall(transport, server.url, TOKEN).run([])
        found = scrape(server)
        assert total(found, "ivr_step_duration_seconds_count") == sum(transport.sent.values())
    assert folder.is_dir()


def test_a_short_token_or_a_public_url_with_a_query_is_refused(tmp_path: Path) -> None:
    """A guessable metrics token, or an IVR_PUBLIC_URL every webhook URL would be wrong under, stops the app at start."""
    import pytest

    from ivr.errors import ConfigError

    db = f"sqlite:///{tmp_path / 'a.sqlite3'}"
    with pytest.raises(ConfigError, match="IVR_METRICS_TOKEN must be at least 16 characters"):
        make_app(db, Clock(), IVR_METRICS_TOKEN="secret")
    with pytest.raises(ConfigError, match=r"IVR_PUBLIC_URL must be a base URL without \? or #"):
        make_app(db, Clock(), IVR_PUBLIC_URL="https://ivr.example.test/?x=1")
