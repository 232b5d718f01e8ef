"""The statistics of a period as one self-contained HTML file: tables, and charts drawn in the page.

Nothing is fetched when the file is opened (no fonts, scripts or images from the network): the CSS and
a small script are inline, and the script draws SVG charts from the statistics embedded as JSON. Each
chart is an element with an id (#waterfall, #outcomes, #heatmap) that the script marks with `data-drawn`:
the number of bars (or cells) it drew, 0 when there was nothing to draw.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from html import escape

from ivr.insight.stats import STATES, Stats, coverage

__all__ = ["embedded_json", "render_html"]


def embedded_json(data: object) -> str:
    """JSON safe inside a <script> element: no `<`, `>` or `&` can end it or open a comment."""
    text = json.dumps(data, ensure_ascii=False, sort_keys=False)
    for raw, safe in (("<", "\\u003c"), (">", "\\u003e"), ("&", "\\u0026"), ("\u2028", "\\u2028"), ("\u2029", "\\u2029")):
        text = text.replace(raw, safe)
    return text


def _pct(value: float | None) -> str:
    return f"{value:.1%}" if value is not None else "–"


def _secs(value: float | None) -> str:
    return f"{value:.1f} s" if value is not None else "–"


def _table(caption: str, headers: Sequence[str], rows: Iterable[Sequence[object]], empty: str) -> str:
    body = "".join("<tr>" + "".join(f"<td>{escape(str(c))}</td>" for c in row) + "</tr>" for row in rows)
    if not body:
        return f'<section class="card"><h2>{escape(caption)}</h2><p class="empty">{escape(empty)}</p></section>'
    head = "".join(f"<th>{escape(h)}</th>" for h in headers)
    return f'<section class="card"><h2>{escape(caption)}</h2><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></section>'


def _tables(stats: Stats) -> str:
    transfers = _table(
        "Transfers per queue",
        ["queue", "attempts", "unreachable (no address)", "answered", "failed", "network statuses", "median to a person", "p90"],
        [
            (
                q.queue or "(none)",
                q.attempts,
                q.unreachable,
                q.answered,
                q.failed,
                ", ".join(f"{k}: {v}" for k, v in q.statuses.items()) or "–",
                _secs(q.to_person.median),
                _secs(q.to_person.p90),
            )
            for q in stats.transfers
        ],
        "No transfers in this period.",
    )
    person = _table(
        "Time to reach a person",
        ["answered transfers", "median", "p90"],
        [(stats.to_person.count, _secs(stats.to_person.median), _secs(stats.to_person.p90))],
        "",
    )
    tickets = _table("Tickets by category", ["category", "tickets"], stats.tickets.items(), "No tickets in this period.")
    ticket_nodes = _table("Tickets by node", ["node", "tickets"], stats.tickets_by_node.items(), "No tickets in this period.")
    nodes = _table(
        "Per node: entries, invalid and no input",
        ["node", "reached", "visits", "entries", "invalid", "invalid rate", "no input", "no-input rate", "hung up"],
        [
            (n.node, n.reached, n.visits, n.entries, n.invalid, _pct(n.invalid_rate), n.no_input, _pct(n.no_input_rate), n.abandoned)
            for n in stats.nodes
        ],
        "No nodes reached.",
    )
    paths = _table("Busiest menu paths", ["path", "calls"], [(" › ".join(p.nodes), p.calls) for p in stats.paths], "No paths.")
    outcomes = _table(
        "Outcomes",
        ["outcome", "calls", "share"],
        [(s, n, _pct(n / stats.calls if stats.calls else None)) for s, n in stats.outcomes.items()],
        "",
    )
    return f'<div class="grid">{outcomes}{person}</div>{transfers}<div class="grid">{tickets}{ticket_nodes}</div>{nodes}{paths}'


def _kpis(stats: Stats) -> str:
    items = [
        ("calls", str(stats.calls)),
        ("containment", _pct(stats.containment)),
        ("reached a person", str(stats.outcomes.get("agent", 0))),
        ("tickets", str(sum(stats.tickets.values()))),
        ("abandoned", str(stats.outcomes.get("abandoned", 0))),
        ("median to a person", _secs(stats.to_person.median)),
    ]
    return '<div class="kpis">' + "".join(f'<div class="kpi"><b>{escape(v)}</b><span>{escape(k)}</span></div>' for k, v in items) + "</div>"


def _coverage(stats: Stats) -> str:
    """A plain warning when some calls have no story: the figures read from stories leave them out."""
    text = coverage(stats)
    if not text:
        return ""
    counts = f'data-with-story="{stats.with_story}" data-calls="{stats.calls}"'
    return f'<p class="warn" id="coverage" {counts}>{escape(text[0].upper() + text[1:])}.</p>'


def _period(stats: Stats) -> str:
    since = stats.since or stats.first_call
    until = stats.until or stats.last_call
    if since is None and until is None:
        return f"all recorded calls ({stats.zone})"
    start = since.strftime("%Y-%m-%d %H:%M") if since else "the first call"
    end = until.strftime("%Y-%m-%d %H:%M") if until else "the last call"
    return f"{start} to {end} ({stats.zone})"


def render_html(stats: Stats, title: str = "Hotline statistics") -> str:
    """The whole report as one HTML document."""
    if stats.calls:
        body = _coverage(stats) + _kpis(stats) + _CHARTS + _tables(stats)
    else:
        body = '<p class="none" id="no-calls">No calls in this period.</p>' + _CHARTS
    return _PAGE.format(
        title=escape(title),
        period=escape(_period(stats)),
        body=body,
        data=embedded_json(stats.to_json()),
        css=_CSS,
        script=_SCRIPT,
        states=escape(", ".join(STATES)),
    )


_CHARTS = """
<section class="card"><h2>Per-node waterfall</h2>
<p class="note">Each bar is a node: its length is the number of calls that reached it (once per call),
its segments how those calls last left it.</p>
<div class="chart" id="waterfall"></div></section>
<section class="card"><h2>Outcomes over time</h2><div class="chart" id="outcomes"></div></section>
<section class="card"><h2>Calls by hour and weekday</h2>
<p class="note">Local time of the call's start.</p><div class="chart" id="heatmap"></div></section>
"""

_PAGE = """<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>{title}</title>
<style>{css}</style>
</head>
<body>
<header><h1>{title}</h1><p class="period">{period}</p></header>
<main>
{body}
</main>
<footer>Outcomes: {states}. Generated by <code>ivr stats --html</code>.</footer>
<script type="application/json" id="stats-data">{data}</script>
<script>{script}</script>
</body>
</html>
"""

_CSS = """
:root { --ink: #1f2933; --muted: #616e7c; --line: #e4e7eb; --bg: #f5f7fa; }
* { box-sizing: border-box; }
body { margin: 0; font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "Noto Sans", "PingFang SC",
       "Microsoft YaHei", sans-serif; color: var(--ink); background: var(--bg); }
header { padding: 20px 32px 8px; }
h1 { margin: 0; font-size: 24px; }
h2 { margin: 0 0 10px; font-size: 16px; }
.period { margin: 4px 0 0; color: var(--muted); }
main { padding: 8px 32px 24px; max-width: 1200px; }
footer { padding: 0 32px 24px; color: var(--muted); font-size: 12px; }
.card { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 16px 20px; margin: 0 0 16px; }
.grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(320px, 1fr)); gap: 16px; }
.kpis { display: grid; grid-template-columns: repeat(auto-fit, minmax(150px, 1fr)); gap: 12px; margin-bottom: 16px; }
.kpi { background: #fff; border: 1px solid var(--line); border-radius: 8px; padding: 12px 16px; }
.kpi b { display: block; font-size: 22px; }
.kpi span { color: var(--muted); }
.note { margin: -4px 0 8px; color: var(--muted); font-size: 12px; }
.none { font-size: 18px; padding: 24px; background: #fff; border: 1px dashed #9aa5b1; border-radius: 8px; text-align: center; }
.empty { color: var(--muted); font-style: italic; }
.warn { margin: 0 0 16px; padding: 10px 16px; background: #fff8e6; border: 1px solid #e6b84c; border-radius: 8px; }
table { border-collapse: collapse; width: 100%; }
th, td { text-align: left; padding: 5px 10px; border-bottom: 1px solid var(--line); vertical-align: top; }
th { color: var(--muted); font-weight: 600; font-size: 12px; }
td:not(:first-child), th:not(:first-child) { text-align: right; }
td:first-child { word-break: break-word; }
.chart svg { display: block; width: 100%; height: auto; }
.chart text { font-size: 11px; fill: var(--ink); }
.chart .axis text, .chart .tick { fill: var(--muted); }
.chart .grid line { stroke: var(--line); }
.legend { display: flex; flex-wrap: wrap; gap: 6px 16px; margin-top: 8px; font-size: 12px; color: var(--muted); }
.legend i { display: inline-block; width: 12px; height: 12px; border-radius: 2px; margin-right: 5px; vertical-align: -2px; }
"""

# Drawn in the page so the file needs nothing but a browser; every name shown is set as text, never as markup.
_SCRIPT = r"""
(function () {
  "use strict";
  var NS = "http://www.w3.org/2000/svg";
  var stats = JSON.parse(document.getElementById("stats-data").textContent);
  var OUTCOME = {"self-service": "#2e9d5b", "abandoned": "#d64545", "failed": "#6b7280",
                 "agent": "#7c4dcc", "ticket": "#e69a28", "open": "#c3c9d1"};
  var MOVES = ["#2f6db5", "#5b9bd5", "#1f4f86", "#8fb8e8", "#3c7fa8", "#a9c6e8"];
  var HUNG_UP = "#d64545", STILL = "#c3c9d1";

  function svg(name, attrs, parent, text) {
    var node = document.createElementNS(NS, name);
    for (var key in attrs) { node.setAttribute(key, attrs[key]); }
    if (text !== undefined) { node.textContent = text; }
    if (parent) { parent.appendChild(node); }
    return node;
  }
  function canvas(box, width, height) {
    return svg("svg", {viewBox: "0 0 " + width + " " + height, role: "img"}, box);
  }
  function legend(box, items) {
    var div = document.createElement("div");
    div.className = "legend";
    items.forEach(function (item) {
      var span = document.createElement("span");
      var swatch = document.createElement("i");
      swatch.style.background = item[1];
      span.appendChild(swatch);
      span.appendChild(document.createTextNode(item[0]));
      div.appendChild(span);
    });
    box.appendChild(div);
  }
  function nothing(box, message) {
    var p = document.createElement("p");
    p.className = "empty";
    p.textContent = message;
    box.appendChild(p);
    box.setAttribute("data-drawn", "0");
  }
  function niceStep(max, ticks) {
    var raw = Math.max(max, 1) / ticks, power = Math.pow(10, Math.floor(Math.log10(raw)));
    var steps = [1, 2, 5, 10];
    for (var i = 0; i < steps.length; i++) { if (steps[i] * power >= raw) { return Math.max(1, steps[i] * power); } }
    return Math.max(1, 10 * power);
  }
  function exitColor(exit, moveIndex) {
    if (exit.kind === "moved") { return MOVES[moveIndex % MOVES.length]; }
    if (exit.kind === "hung_up") { return HUNG_UP; }
    if (exit.kind === "ended") { return OUTCOME[exit.outcome] || "#6b7280"; }
    return STILL;
  }

  // The width of a text as the browser lays it out, in the chart's units; estimated when nothing is laid out.
  function textWidth(node) {
    var width = 0;
    try { width = node.getComputedTextLength(); } catch (e) { width = 0; }
    if (width > 0) { return width; }
    return Array.from(node.textContent).reduce(function (sum, ch) {
      return sum + (ch.charCodeAt(0) >= 0x2e80 ? 11 : 6.5);
    }, 0);
  }
  // Show `name + suffix` within `room`: a name too long loses characters in its middle, for an ellipsis.
  function fitLabel(node, name, suffix, room) {
    node.textContent = name + suffix;
    if (textWidth(node) <= room) { return false; }
    var chars = Array.from(name), low = 1, high = chars.length - 1, best = 1;
    while (low <= high) {
      var keep = Math.floor((low + high) / 2), head = Math.ceil(keep / 2), tail = keep - head;
      node.textContent = chars.slice(0, head).join("") + "…" + chars.slice(chars.length - tail).join("") + suffix;
      if (textWidth(node) <= room) { best = keep; low = keep + 1; } else { high = keep - 1; }
    }
    var h = Math.ceil(best / 2), t = best - h;
    node.textContent = chars.slice(0, h).join("") + "…" + chars.slice(chars.length - t).join("") + suffix;
    return true;
  }

  function waterfall(box) {
    var nodes = stats.nodes;
    if (!nodes.length) { return nothing(box, "No calls reached any node in this period."); }
    var max = Math.max.apply(null, nodes.map(function (n) { return n.reached; }));
    var right = 20, top = 10, row = 26, barH = 18, W = 960, gap = 8, H = top + nodes.length * row + 34;
    var root = canvas(box, W, H);
    // The label column is as wide as the longest name needs, up to 38% of the chart; longer names are cut
    // in the middle (where names of one menu differ least) and given whole in a tooltip.
    var labels = nodes.map(function (node) {
      var text = svg("text", {"class": "label", "text-anchor": "end"}, root, node.node + " (" + node.reached + ")");
      return {text: text, width: textWidth(text)};
    });
    var widest = Math.max.apply(null, labels.map(function (l) { return l.width; }));
    var labelW = Math.ceil(Math.min(Math.max(widest, 60), W * 0.38)) + gap;
    labels.forEach(function (label, i) {
      var node = nodes[i], suffix = " (" + node.reached + ")";
      label.text.setAttribute("x", labelW - gap);
      label.text.setAttribute("y", top + i * row + barH - 5);
      var cut = fitLabel(label.text, node.node, suffix, labelW - gap);
      label.text.setAttribute("data-cut", cut ? "1" : "0");
      svg("title", {}, label.text, node.node + suffix.replace(")", " reached)"));
    });
    var plotW = W - labelW - right;
    var step = niceStep(max, 6), scale = plotW / (Math.ceil(max / step) * step);
    var grid = svg("g", {"class": "grid axis"}, root);
    for (var v = 0; v * scale <= plotW + 0.5; v += step) {
      var x = labelW + v * scale;
      svg("line", {x1: x, x2: x, y1: top, y2: H - 28}, grid);
      svg("text", {x: x, y: H - 16, "text-anchor": "middle", "class": "tick"}, grid, String(v));
    }
    svg("text", {x: labelW + plotW / 2, y: H - 2, "text-anchor": "middle", "class": "tick"}, grid, "calls reaching the node");
    var used = {};
    nodes.forEach(function (node, i) {
      var y = top + i * row;
      var bar = svg("g", {"class": "bar", "data-node": node.node, "data-reached": node.reached}, root);
      bar.appendChild(labels[i].text);
      var x = labelW, moves = 0;
      node.exits.forEach(function (exit) {
        var w = exit.calls * scale, color = exitColor(exit, moves);
        if (exit.kind === "moved") { moves += 1; } else { used[exit.label] = color; }
        var seg = svg("rect", {"class": "seg", x: x, y: y, width: Math.max(w, 0), height: barH, fill: color,
                                "data-kind": exit.kind, "data-calls": exit.calls}, bar);
        svg("title", {}, seg, node.node + ": " + exit.label + " — " + exit.calls + " call" + (exit.calls === 1 ? "" : "s"));
        var text = exit.label + " " + exit.calls;
        if (w > text.length * 6.5 + 8) {
          svg("text", {x: x + 4, y: y + barH - 5, fill: "#fff", style: "fill:#fff"}, bar, text);
        }
        x += w;
      });
    });
    box.setAttribute("data-drawn", String(nodes.length));
    var items = [["moved on to another node", MOVES[0]]];
    ["hung up", "still there"].concat(stats.timeline.states.map(function (s) { return "ended: " + s; })).forEach(function (label) {
      if (used[label]) { items.push([label, used[label]]); }
    });
    legend(box, items);
  }

  function outcomes(box) {
    var buckets = stats.timeline.buckets, states = stats.timeline.states;
    if (!buckets.length || !stats.calls) { return nothing(box, "No calls in this period."); }
    var max = Math.max.apply(null, buckets.map(function (b) { return b.calls; }));
    var left = 44, right = 24, top = 10, bottom = 58, W = 960, H = 300;
    var plotW = W - left - right, plotH = H - top - bottom;
    var step = niceStep(max, 5), high = Math.ceil(Math.max(max, 1) / step) * step, scale = plotH / high;
    var root = canvas(box, W, H);
    var grid = svg("g", {"class": "grid axis"}, root);
    for (var v = 0; v <= high; v += step) {
      var y = top + plotH - v * scale;
      svg("line", {x1: left, x2: W - right, y1: y, y2: y}, grid);
      svg("text", {x: left - 6, y: y + 4, "text-anchor": "end", "class": "tick"}, grid, String(v));
    }
    svg("text", {x: 12, y: top + plotH / 2, transform: "rotate(-90 12 " + (top + plotH / 2) + ")",
                 "text-anchor": "middle", "class": "tick"}, grid, "calls");
    var slot = plotW / buckets.length, barW = Math.max(1, slot * 0.72), every = Math.ceil(buckets.length / 12);
    var unit = stats.timeline.unit, hourly = unit === "hour";
    var MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
    // A tick: the time (hours), month-day (days, weeks) or month; under it the date (hours) or the year,
    // at the first tick and wherever it changes, so a range over years reads in order.
    function tick(label) {
      if (hourly) { return [label.slice(11), label.slice(0, 10)]; }
      if (unit === "month") { return [MONTHS[Number(label.slice(5, 7)) - 1] || label, label.slice(0, 4)]; }
      return [label.slice(5, 10), label.slice(0, 4)];
    }
    buckets.forEach(function (bucket, i) {
      var x = left + i * slot + (slot - barW) / 2, y = top + plotH;
      var bar = svg("g", {"class": "bar", "data-label": bucket.label, "data-calls": bucket.calls}, root);
      states.forEach(function (state) {
        var n = bucket.counts[state];
        if (!n) { return; }
        var h = n * scale;
        y -= h;
        var seg = svg("rect", {"class": "seg", x: x, y: y, width: barW, height: h, fill: OUTCOME[state], "data-state": state,
                                "data-calls": n}, bar);
        svg("title", {}, seg, bucket.label + ": " + state + " " + n);
      });
      if (i % every === 0) {
        var shown = tick(bucket.label);
        svg("text", {x: x + barW / 2, y: top + plotH + 14, "text-anchor": "middle", "class": "tick"}, root, shown[0]);
        if (i === 0 || shown[1] !== tick(buckets[i - every].label)[1]) {
          svg("text", {x: x + barW / 2, y: top + plotH + 28, "text-anchor": "middle", "class": "tick under"}, root, shown[1]);
        }
      }
    });
    var caption = {hour: "hour", day: "day", week: "week (from Monday)", month: "month"}[unit] || unit;
    svg("text", {x: left + plotW / 2, y: H - 8, "text-anchor": "middle", "class": "tick"}, root,
        caption + " of the call's start (local)");
    box.setAttribute("data-drawn", String(buckets.length));
    legend(box, states.map(function (s) { return [s, OUTCOME[s]]; }));
  }

  function heatmap(box) {
    var days = stats.by_weekday_hour.weekdays, counts = stats.by_weekday_hour.counts;
    if (!stats.calls) { return nothing(box, "No calls in this period."); }
    var max = 0;
    counts.forEach(function (row) { row.forEach(function (n) { max = Math.max(max, n); }); });
    var left = 44, top = 8, cell = 36, gap = 2, W = left + 24 * cell + 10, H = top + 7 * cell + 40;
    var root = canvas(box, W, H), drawn = 0;
    counts.forEach(function (row, d) {
      svg("text", {x: left - 8, y: top + d * cell + cell / 2 + 4, "text-anchor": "end", "class": "tick"}, root, days[d]);
      row.forEach(function (n, h) {
        var share = max ? n / max : 0;
        var light = 97 - Math.round(share * 62);
        var rect = svg("rect", {"class": "cell", x: left + h * cell, y: top + d * cell, width: cell - gap, height: cell - gap,
                                 rx: 3, fill: n ? "hsl(212, 70%, " + light + "%)" : "#f1f3f5", "data-count": n}, root);
        svg("title", {}, rect, days[d] + " " + (h < 10 ? "0" : "") + h + ":00 — " + n + " call" + (n === 1 ? "" : "s"));
        if (n) {
          svg("text", {x: left + h * cell + (cell - gap) / 2, y: top + d * cell + cell / 2 + 4, "text-anchor": "middle",
                       style: "fill:" + (share > 0.55 ? "#fff" : "#1f2933")}, root, String(n));
        }
        drawn += 1;
      });
    });
    for (var h = 0; h < 24; h++) {
      svg("text", {x: left + h * cell + (cell - gap) / 2, y: top + 7 * cell + 14, "text-anchor": "middle", "class": "tick"},
          root, String(h));
    }
    svg("text", {x: left + 12 * cell, y: H - 6, "text-anchor": "middle", "class": "tick"}, root, "hour of day (local)");
    box.setAttribute("data-drawn", String(drawn));
    legend(box, [["fewer calls", "hsl(212, 70%, 90%)"], ["more calls (most: " + max + ")", "hsl(212, 70%, 35%)"],
                 ["none", "#f1f3f5"]]);
  }

  [["waterfall", waterfall], ["outcomes", outcomes], ["heatmap", heatmap]].forEach(function (chart) {
    var box = document.getElementById(chart[0]);
    if (box) { chart[1](box); }
  });
})();
"""
