"""What `ivr qa run` prints and writes: a line per flow, failures in full, coverage, JUnit XML."""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TextIO

from ivr.engine.coverage import Coverage, Edge, caller_edges, fault_edges
from ivr.loading.menu_loader import load_menu
from ivr.qa.runner import FlowResult

LABELS = {"passed": "PASS", "failed": "FAIL", "skipped": "SKIP", "error": "ERROR"}


def print_results(results: Sequence[FlowResult], out: TextIO, seconds: float) -> None:
    """One line per flow; failures and errors with their report; a closing count."""
    for result in results:
        out.write(f"{LABELS[result.status]:<5} {result.seconds * 1000:7.0f} ms  {result.path}  {result.name}\n")
        if result.status in ("failed", "error") and result.message:
            out.write(result.message.rstrip() + "\n")
            if result.call_sid:
                out.write(f"  the call: ivr calls show {result.call_sid} (on the server's store)\n")
        elif result.status == "skipped":
            out.write(f"  skipped: {result.message}\n")
    counts = {status: sum(r.status == status for r in results) for status in LABELS}
    tail = "".join(f", {counts[s]} {s}" for s in ("skipped", "error") if counts[s])
    out.write(f"{counts['passed']} passed, {counts['failed']} failed{tail} in {seconds:.2f} s\n")


@dataclass(frozen=True)
class CoverageReport:
    """Coverage of one menu by a set of flows."""

    menu: str
    percent: float
    covered: int
    total: int
    nodes_covered: int
    nodes_total: int
    missing: list[Edge]
    missing_nodes: list[str]
    faults: list[Edge]


def coverage_report(menu_path: str, coverage: Coverage) -> CoverageReport:
    """Which caller-reachable transitions and nodes of the menu the flows took."""
    from ivr.engine.engine import Engine

    menu = load_menu(menu_path)
    machine = Engine(menu).machine
    universe = caller_edges(machine, menu.start)
    faults = fault_edges(machine, menu.start)
    reachable_nodes = {e.source for e in universe if e.source != "*"} | {e.dest for e in universe if e.dest} | {menu.start}
    taken_nodes = coverage.nodes() | ({menu.start} if coverage.fired else set())
    return CoverageReport(
        menu=menu_path,
        percent=coverage.percent(machine, universe),
        covered=len(universe & coverage.fired),
        total=len(universe),
        nodes_covered=len(reachable_nodes & taken_nodes),
        nodes_total=len(reachable_nodes),
        missing=coverage.missing(machine, universe),
        missing_nodes=sorted(reachable_nodes - taken_nodes),
        faults=sorted(faults),
    )


def print_coverage(report: CoverageReport, out: TextIO) -> None:
    """The percentage and every transition no flow took."""
    out.write(
        f"coverage of {_shown(report.menu)}: transitions {report.covered}/{report.total} ({report.percent:.1f}%), "
        f"nodes {report.nodes_covered}/{report.nodes_total}\n"
    )
    for edge in report.missing:
        out.write(f"  not covered: {edge}\n")
    for node in report.missing_nodes:
        out.write(f"  node never entered: {node}\n")
    if report.faults:
        out.write(f"  not counted ({len(report.faults)} fault-only transitions no caller can cause): ")
        out.write(", ".join(str(e) for e in report.faults[:6]) + (" …" if len(report.faults) > 6 else "") + "\n")


_XML_ILLEGAL = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def _xml_text(text: str) -> str:
    """Text XML 1.0 can hold: control characters (from a flow's name, a heard prompt…) become U+FFFD."""
    return _XML_ILLEGAL.sub("\ufffd", text)


def write_junit(results: Sequence[FlowResult], path: Path, seconds: float) -> None:
    """JUnit XML: one testcase per flow, failures and skips with their messages."""
    suite = ET.Element(
        "testsuite",
        name="ivr qa",
        tests=str(len(results)),
        failures=str(sum(r.status == "failed" for r in results)),
        errors=str(sum(r.status == "error" for r in results)),
        skipped=str(sum(r.status == "skipped" for r in results)),
        time=f"{seconds:.3f}",
    )
    for result in results:
        classname = _xml_text(Path(result.path).parent.as_posix().replace("/", "."))
        case = ET.SubElement(suite, "testcase", classname=classname, name=_xml_text(result.name), file=_xml_text(result.path))
        case.set("time", f"{result.seconds:.3f}")
        if result.status in ("failed", "error"):
            first = result.message.strip().splitlines()[0] if result.message.strip() else result.status
            node = ET.SubElement(case, "failure" if result.status == "failed" else "error", message=_xml_text(first))
            node.text = _xml_text(result.message)
        elif result.status == "skipped":
            ET.SubElement(case, "skipped", message=_xml_text(result.message))
    root = ET.Element("testsuites")
    root.append(suite)
    ET.indent(root)
    path.parent.mkdir(parents=True, exist_ok=True)
    ET.ElementTree(root).write(path, encoding="utf-8", xml_declaration=True)


def _shown(path: str) -> str:
    """A path relative to the working folder when it lies below it."""
    try:
        return Path(path).resolve().relative_to(Path.cwd()).as_posix()
    except ValueError:
        return path
