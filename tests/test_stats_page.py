"""`ivr stats --html`: the report opened in headless Chromium draws every chart from its data, without a console message."""

from __future__ import annotations

import json
import os
import re
import shutil
import struct
import subprocess
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser
from itertools import pairwise
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from ivr.engine.story import Line
from ivr.insight.report import render_html
from ivr.insight.stats import Stats, compute
from ivr.ir import Menu
from ivr.store.history import CallSummary, StoredLine
from tests.test_stats import ZONE, record_calls

# Colours the charts fill with (ivr/insight/report.py): a node left by a move, a caller who hung up, an agent.
MOVED, HUNG_UP, AGENT = bytes.fromhex("2f6db5"), bytes.fromhex("d64545"), bytes.fromhex("7c4dcc")
# Chromium writes every console message (log, error, uncaught exception) to stderr as "…:CONSOLE…] "text", source: …".
CONSOLE = re.compile(r":CONSOLE[^\]]*\] (.*)")


def find_chromium() -> str:
    """Debian's chromium (installed by `make system-deps`); installed here when missing and we are root, else skipped."""
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None and os.geteuid() == 0 and shutil.which("apt-get"):
        env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
        for command in (["apt-get", "update", "-qq"], ["apt-get", "install", "-y", "-qq", "chromium"]):
            subprocess.run(command, env=env, capture_output=True, timeout=600, check=False)
        found = shutil.which("chromium")
    if found is None:
        if os.environ.get("CI"):
            pytest.fail("chromium is not installed (make system-deps installs it); CI must run the report test")
        pytest.skip("chromium is not installed and we are not root to install it (apt-get install chromium)")
    return found


@pytest.fixture(scope="module")
def chromium() -> str:
    """The browser's executable."""
    return find_chromium()


@dataclass
class Browser:
    """Headless Chromium on local files: the DOM after the scripts ran, the console, a screenshot."""

    executable: str
    home: Path

    def _run(self, page: Path, *args: str) -> subprocess.CompletedProcess[str]:
        command = [
            self.executable,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-extensions",
            f"--user-data-dir={self.home}",
            "--enable-logging=stderr",
            "--log-level=0",
            *args,
            page.as_uri(),
        ]
        return subprocess.run(command, capture_output=True, text=True, timeout=60, check=True)

    def dom(self, page: Path) -> tuple[str, list[str]]:
        """The document once its scripts ran, and every message its console printed."""
        done = self._run(page, "--virtual-time-budget=3000", "--dump-dom")
        return done.stdout, CONSOLE.findall(done.stderr)

    def screenshot(self, page: Path, out: Path) -> Path:
        """A PNG of the page's top 1200 by 1600 pixels."""
        self._run(page, "--hide-scrollbars", "--window-size=1200,1600", "--virtual-time-budget=3000", f"--screenshot={out}")
        return out


@pytest.fixture
def browser(chromium: str, tmp_path: Path) -> Browser:
    """A browser with a profile of its own in the test's directory."""
    return Browser(chromium, tmp_path / "profile")


@pytest.fixture(scope="module")
def stats(menu: Menu, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stats]:
    """The statistics of real calls through the engine, read back from a SQLite history."""
    store, recorded = record_calls(menu, tmp_path_factory.mktemp("page"))
    yield recorded.stats()
    store.close()


class Elements(HTMLParser):
    """The elements of a document, each with its attributes and the ids of the charts it sits in."""

    VOID = frozenset({"meta", "link", "br", "img", "input", "hr", "area", "base", "col", "source", "wbr"})

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, dict[str, str], tuple[str, ...]]] = []
        self.open: list[tuple[str, str]] = []  # tag, id

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        self.found.append((tag, values, tuple(i for _, i in self.open if i) + ((values["id"],) if "id" in values else ())))
        if tag not in self.VOID:
            self.open.append((tag, values.get("id", "")))

    def handle_startendtag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {k: v or "" for k, v in attrs}
        self.found.append((tag, values, tuple(i for _, i in self.open if i)))

    def handle_endtag(self, tag: str) -> None:
        while self.open:
            if self.open.pop()[0] == tag:
                break

    def by_id(self, element_id: str) -> dict[str, str]:
        """The attributes of the element with this id."""
        return next(attrs for _, attrs, _ in self.found if attrs.get("id") == element_id)

    def inside(self, chart: str, tag: str, cls: str) -> list[dict[str, str]]:
        """Elements of `tag` with class `cls` inside the element with id `chart`."""
        return [a for t, a, within in self.found if t == tag and chart in within and cls in a.get("class", "").split()]


def parse(dom: str) -> Elements:
    """The elements of a dumped DOM."""
    elements = Elements()
    elements.feed(dom)
    return elements


def png_colours(path: Path) -> set[bytes]:
    """The RGB colours of an 8-bit, non-interlaced PNG (what Chromium writes), decoded with zlib alone."""
    data = path.read_bytes()
    assert data[:8] == b"\x89PNG\r\n\x1a\n", "not a PNG"
    pos, idat, header = 8, bytearray(), (0, 0, 0, 0, 0)
    while pos < len(data):
        length, kind = struct.unpack(">I4s", data[pos : pos + 8])
        body = data[pos + 8 : pos + 8 + length]
        pos += 12 + length
        if kind == b"IHDR":
            width, height, depth, colour, _, _, interlace = struct.unpack(">IIBBBBB", body)
            header = (width, height, depth, colour, interlace)
        elif kind == b"IDAT":
            idat += body
    width, height, depth, colour, interlace = header
    assert depth == 8 and colour in (2, 6) and interlace == 0, header
    bpp = 3 if colour == 2 else 4
    raw, stride = zlib.decompress(bytes(idat)), width * bpp
    prev, colours = bytearray(stride), set[bytes]()
    for y in range(height):
        start = y * (stride + 1)
        kind, line = raw[start], bytearray(raw[start + 1 : start + 1 + stride])
        for i in range(stride):  # undo the row's filter (PNG spec, section 9)
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], (prev[i - bpp] if i >= bpp else 0)
            if kind == 1:
                line[i] = (line[i] + a) & 255
            elif kind == 2:
                line[i] = (line[i] + b) & 255
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        colours.update(bytes(line[x : x + 3]) for x in range(0, stride, bpp))
        prev = line
    return colours


def write(tmp_path: Path, html: str, name: str = "report.html") -> Path:
    """The page as a file."""
    page = tmp_path / name
    page.write_text(html, encoding="utf-8")
    return page


def test_every_chart_is_drawn_in_proportion_to_the_data(browser: Browser, stats: Stats, tmp_path: Path) -> None:
    """One waterfall bar per node with a segment per exit, one stacked bar per time bucket, 7 by 24 heatmap cells; no console message."""
    dom, console = browser.dom(write(tmp_path, render_html(stats, "Volcengine hotline")))
    assert console == []
    page = parse(dom)

    assert page.by_id("waterfall")["data-drawn"] == str(len(stats.nodes))
    bars = page.inside("waterfall", "g", "bar")
    assert [b["data-node"] for b in bars] == [n.node for n in stats.nodes]
    segments = page.inside("waterfall", "rect", "seg")
    assert len(segments) == sum(len(n.exits) for n in stats.nodes)
    assert sum(int(s["data-calls"]) for s in segments) == sum(n.reached for n in stats.nodes)
    assert sum(1 for s in segments if s["data-kind"] == "hung_up") == len(stats.abandonment)

    assert page.by_id("outcomes")["data-drawn"] == str(len(stats.timeline))
    buckets = page.inside("outcomes", "g", "bar")
    assert [int(b["data-calls"]) for b in buckets] == [sum(b.counts.values()) for b in stats.timeline]
    drawn = {(s["data-state"], int(s["data-calls"])) for s in page.inside("outcomes", "rect", "seg")}
    assert ("agent", 2) in drawn  # 10:00 on Monday: two callers reached an agent

    assert page.by_id("heatmap")["data-drawn"] == "168"
    cells = page.inside("heatmap", "rect", "cell")
    assert len(cells) == 168
    assert [int(c["data-count"]) for c in cells] == [n for row in stats.by_weekday_hour for n in row]


def test_screenshot_shows_the_charts(browser: Browser, stats: Stats, tmp_path: Path) -> None:
    """The screenshot is a real picture: many colours, among them the waterfall's and the outcomes' fills."""
    shot = browser.screenshot(write(tmp_path, render_html(stats, "Volcengine hotline")), tmp_path / "report.png")
    colours = png_colours(shot)
    assert len(colours) > 50
    assert {MOVED, HUNG_UP, AGENT} <= colours


def test_an_empty_period_says_so_and_draws_nothing(browser: Browser, tmp_path: Path) -> None:
    """No calls: a clear message, every chart marked drawn with nothing, and no script error."""
    empty = compute([], {}, ZONE, datetime(2026, 11, 1, tzinfo=UTC), datetime(2026, 11, 2, tzinfo=UTC))
    dom, console = browser.dom(write(tmp_path, render_html(empty, "Quiet day")))
    assert console == []
    page = parse(dom)
    assert "No calls in this period." in dom
    for chart in ("waterfall", "outcomes", "heatmap"):
        assert page.by_id(chart)["data-drawn"] == "0", chart
    assert page.inside("outcomes", "g", "bar") == []  # 24 empty hours are no bars to stack


def test_names_and_speech_cannot_break_out_of_the_page(browser: Browser, tmp_path: Path) -> None:
    """A node named like markup, and speech with `</script>`, are shown as text: the data stays data."""
    start = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
    name = '</script><script>document.title="owned"</script><b>x'
    lines = [
        {"type": "say", "node": "start", "lang": "zh-CN", "text": "您好"},
        {"type": "input", "node": "start", "digits": "", "speech": "</script><!--"},
        {"type": "move", "node": "start", "trigger": 'said 1 "</script>"', "to": name},
        {"type": "hangup", "node": name, "reason": "caller"},
    ]
    call = CallSummary("CA1", "+8613800000000", "", "twilio", "v1", start, start, "completed", "abandoned", 3)
    stats = compute([call], {"CA1": [StoredLine(1, i, start, line) for i, line in enumerate(lines)]}, ZONE, None, None)
    html = render_html(stats, "<i>odd</i>")
    assert html.count("</script>") == 2  # the data's and the code's own
    dom, console = browser.dom(write(tmp_path, html))
    assert console == []
    page = parse(dom)
    assert page.by_id("waterfall")["data-drawn"] == "2"
    assert [b["data-node"] for b in page.inside("waterfall", "g", "bar")] == ["start", name]
    assert "<title>&lt;i&gt;odd&lt;/i&gt;</title>" in dom  # an injected script would have renamed the page


def test_a_script_error_is_caught(browser: Browser, tmp_path: Path) -> None:
    """The console check sees an uncaught error and a console.error (so an empty list above means a clean page)."""
    page = write(tmp_path, "<!DOCTYPE html><p>x</p><script>console.error('drawn badly'); noSuchFunction();</script>", "broken.html")
    _, console = browser.dom(page)
    assert any("Uncaught ReferenceError" in message and "noSuchFunction" in message for message in console), console
    assert any("drawn badly" in message for message in console), console


def test_the_report_needs_no_network(stats: Stats) -> None:
    """One file: no external script, style sheet, font or image."""
    html = render_html(stats, "Volcengine hotline")
    assert not re.search(r"""(src|href)\s*=\s*["']?(https?:)?//""", html)
    assert "@import" not in html and "url(" not in html


def test_ivr_stats_html_renders_every_chart(browser: Browser, tmp_path: Path) -> None:
    """`ivr stats --html` on calls placed with `ivr call` writes a page whose every chart is drawn, with no console message."""
    from tests.workspace import run_ivr

    db = str(tmp_path / "hotline.sqlite3")
    for at, keys in (("2026-11-30T10:00:00+08:00", "2 1 0"), ("2026-11-30T10:05:00+08:00", "3"), ("2026-11-30T22:00:00+08:00", "1")):
        assert run_ivr("call", "--db", db, "--at", at, "--keys", keys, "--voicemail", "发票开错了").returncode == 0
    report = tmp_path / "report.html"
    made = run_ivr("stats", "--db", db, "--since", "2026-11-30", "--until", "2026-12-01", "--html", str(report))
    assert made.returncode == 0 and "wrote" in made.stdout, made.stderr
    dom, console = browser.dom(report)
    assert console == []
    page = parse(dom)
    figures = json.loads(run_ivr("stats", "--db", db, "--since", "2026-11-30", "--until", "2026-12-01", "--json").stdout)
    assert page.by_id("waterfall")["data-drawn"] == str(len(figures["nodes"])) != "0"
    assert page.by_id("outcomes")["data-drawn"] == str(len(figures["timeline"]["buckets"])) != "0"
    assert page.by_id("heatmap")["data-drawn"] == "168"
    shot = browser.screenshot(report, tmp_path / "report.png")
    assert len(png_colours(shot)) > 50


# Run after the report's own script: the browser's layout of each waterfall label against the chart and its bar.
MEASURE = """<script>
(function () {
  var svg = document.querySelector("#waterfall svg"), out = [];
  document.querySelectorAll("#waterfall g.bar").forEach(function (bar) {
    var label = bar.querySelector("text"), box = label.getBBox(), seg = bar.querySelector("rect.seg");
    out.push({node: bar.getAttribute("data-node"), left: box.x, right: box.x + box.width, bar: Number(seg.getAttribute("x")),
              shown: label.childNodes[0].textContent, title: (label.querySelector("title") || {}).textContent || ""});
  });
  document.body.setAttribute("data-labels", JSON.stringify({width: svg.viewBox.baseVal.width, labels: out}));
})();
</script>"""


def story_through(nodes: list[str], sid: str, start: datetime) -> tuple[CallSummary, list[StoredLine]]:
    """A call that went through `nodes` by key 1 and hung up at the last."""
    lines: list[Line] = [{"type": "input", "node": nodes[0], "digits": "1"}]
    for here, there in pairwise(nodes):
        lines.append({"type": "move", "node": here, "trigger": "key_1", "to": there})
    lines.append({"type": "hangup", "node": nodes[-1], "reason": "caller"})
    call = CallSummary(sid, "+8613800000000", "", "twilio", "v1", start, start, "completed", "abandoned", 30)
    return call, [StoredLine(1, i, start, line) for i, line in enumerate(lines)]


def test_long_node_names_fit_in_the_waterfall(browser: Browser, tmp_path: Path) -> None:
    """Long names are laid out inside the chart, left of their bars; one too long is cut in the middle with the whole in a tooltip."""
    start = datetime(2026, 11, 30, 2, 0, tzinfo=UTC)
    huge = "scope_menu.system_tools." + "very_long_segment_" * 6 + "end"
    names = ["welcome", "scope_menu.system_tools.page2", "scope_menu.system_tools.windows_remote_access", huge]
    calls, stories = [], {}
    for i in range(1, len(names) + 1):
        call, lines = story_through(names[:i], f"CA{i}", start)
        calls.append(call)
        stories[call.call_sid] = lines
    stats = compute(calls, stories, ZONE)
    html = render_html(stats, "Long names").replace("</body>", MEASURE + "</body>")
    dom, console = browser.dom(write(tmp_path, html))
    assert console == []
    found = re.search(r'data-labels="([^"]*)"', dom)
    assert found is not None
    measured = json.loads(found.group(1).replace("&quot;", '"').replace("&amp;", "&"))
    labels = {label["node"]: label for label in measured["labels"]}
    assert set(labels) == set(names)
    for label in labels.values():
        assert label["left"] >= 0 and label["right"] <= label["bar"], label  # inside the chart, clear of the bar
    for label in labels.values():
        assert label["title"].startswith(label["node"] + " (")  # the whole name on hover
    windows = labels["scope_menu.system_tools.windows_remote_access"]
    assert windows["shown"] == "scope_menu.system_tools.windows_remote_access (2)"  # fits whole
    cut = labels[huge]["shown"]
    assert "…" in cut and cut.startswith("scope_menu.") and cut.endswith("end (1)") and len(cut) < len(huge)
    assert max(label["bar"] for label in labels.values()) <= 0.4 * measured["width"]  # most of the width stays for the bars
    shot = browser.screenshot(write(tmp_path, html, "shot.html"), tmp_path / "long.png")
    assert {MOVED, HUNG_UP} <= png_colours(shot)


def test_calls_without_a_story_are_named_on_the_page(stats: Stats, tmp_path: Path) -> None:
    """With calls kept without a story the page says plainly that the story figures cover only some calls."""
    assert 'id="coverage"' not in render_html(stats)
    call = CallSummary("CAQ", "+8613800000000", "", "twilio", "v1", datetime(2026, 11, 30, 2, tzinfo=UTC), None, "completed", "agent", 40)
    quiet = compute([call], {}, ZONE)
    page = parse(render_html(quiet))
    warning = page.by_id("coverage")
    assert (warning["data-with-story"], warning["data-calls"]) == ("0", "1")
    assert "cover only 0 of 1 calls" in render_html(quiet)


def test_unreachable_transfers_are_a_column_of_the_transfers_table(menu: Menu, tmp_path: Path) -> None:
    """A queue with no address shows its tries as attempts and as unreachable."""
    from ivr.config import Settings
    from tests.test_stats import UNREACHABLE

    store, recorded = record_calls(menu, tmp_path, UNREACHABLE, Settings(queue_addresses={"business": ""}))
    try:
        html = render_html(recorded.stats())
    finally:
        store.close()
    assert "<th>unreachable (no address)</th>" in html
    assert "<tr><td>business</td><td>3</td><td>3</td><td>0</td><td>3</td>" in html


def ticks(dom: str) -> tuple[list[str], list[str]]:
    """The outcomes chart's tick labels under its bars: the first line, and the line under it."""
    chart = dom[dom.index('id="outcomes"') :]
    chart = chart[: chart.index("</svg>")]
    texts = [(dict(re.findall(r'([\w-]+)="([^"]*)"', attrs)), text) for attrs, text in re.findall(r"<text([^>]*)>([^<]*)</text>", chart)]
    under = [(float(a["y"]), text) for a, text in texts if a.get("class") == "tick under"]
    if not under:
        return [], []
    line = under[0][0] - 14  # the first line sits a line above the one under it
    return [text for a, text in texts if a.get("class") == "tick" and float(a.get("y", -1)) == line], [text for _, text in under]


def test_the_timeline_axis_names_years_in_order(browser: Browser, tmp_path: Path) -> None:
    """Days across a new year: the year under the first tick and where it changes; months beyond 2 years."""
    from tests.test_stats import call_at, spread

    tz = ZoneInfo(ZONE)
    since, until = datetime(2025, 12, 1, tzinfo=tz), datetime(2026, 2, 20, tzinfo=tz)
    days = compute(spread(since, until - timedelta(hours=1), 40), {}, ZONE, since, until)
    assert days.timeline_unit == "day"
    dom, console = browser.dom(write(tmp_path, render_html(days)))
    assert console == []
    top, under = ticks(dom)
    assert top[0] == "12-01" and under == ["2025", "2026"]
    since, until = datetime(2022, 6, 1, tzinfo=tz), datetime(2026, 6, 1, tzinfo=tz)
    months = compute([call_at("CA1", since), call_at("CA2", until - timedelta(days=1))], {}, ZONE, since, until)
    dom, console = browser.dom(write(tmp_path, render_html(months), "months.html"))
    assert console == []
    top, under = ticks(dom)
    assert months.timeline_unit == "month" and top[0] == "Jun" and under == ["2022", "2023", "2024", "2025", "2026"]
    assert "month of the call's start (local)" in dom


def test_a_long_open_ended_period_makes_a_small_page(menu: Menu, tmp_path: Path) -> None:
    """`--since 2016-01-01` over two days of calls: a timeline of their hours, not of 3,990 days (the page was 740 KB)."""
    store, recorded = record_calls(menu, tmp_path)
    try:
        stats = recorded.stats(datetime(2016, 1, 1))
    finally:
        store.close()
    assert len(stats.timeline) == 25
    assert len(render_html(stats).encode()) < 80_000
