"""Menu file → validated `Menu`; every problem is collected with file, line, column and node.

Fields are read by the format's description (ivr/format): the settings section by section, each
node by its type's fields (ivr/nodes); cross-field and whole-menu rules are checked here and in
checks.py.
"""

from __future__ import annotations

import difflib
import hashlib
import re
from collections import deque
from collections.abc import Collection, Mapping
from dataclasses import dataclass, field, replace
from functools import partial
from pathlib import Path
from typing import Any

from ivr.actions import REGISTRY
from ivr.budgets import check_budgets
from ivr.effort import Durations
from ivr.engine.fsm import dials, failed_transfers
from ivr.errors import DefinitionError, Problem
from ivr.format.settings import SETTINGS
from ivr.ir import BACK, RETRY, Listening, Location, Menu, Node, Retry, reachable
from ivr.loading.checks import check_back_targets, check_ends_without_waiting, check_graph, check_references
from ivr.loading.fields import FieldReader, Ref
from ivr.loading.lint import DEFAULT_MAX_DEPTH, lint_menu
from ivr.loading.listening import build_listening
from ivr.loading.placeholders import HoursSpeaker, check_placeholders, placeholder_problems, resolve_scope, with_hours
from ivr.loading.reader import Reader
from ivr.loading.scope_loader import load_scope
from ivr.loading.settings import (
    action_refs,
    check_action_data,
    read_budgets,
    read_data,
    read_defaults,
    read_first_response,
    read_loop_limit,
    read_queues,
    read_schedule,
    read_ticket_sms,
    read_voices,
)
from ivr.loading.yamltree import Sources, YMap, YNode, YScalar, YSeq, parse_file
from ivr.nodes import NODE_TYPES
from ivr.nodes.record import RecordNode
from ivr.scope import Scope
from ivr.spoken_time import spoken_daily, spoken_hours
from ivr.text import Text

__all__ = ["ALL_BUILDERS", "LANG", "check_menu", "load_menu"]

ALL_BUILDERS = NODE_TYPES  # the node types, by `type:` name
LANG = re.compile(r"[a-z]{2,3}(-[A-Z][a-zA-Z]{1,3})?")


def load_menu(path: str | Path, *, actions: Collection[str] | None = None, sources: Mapping[str, str] | None = None) -> Menu:
    """Load and validate a menu file; raises DefinitionError listing every problem.

    `sources` (path -> text) stands in for the disk: a stored version is rebuilt from its own files.
    """
    menu, problems = _load(Path(path), set(REGISTRY) if actions is None else set(actions), Sources(sources))
    errors = [p for p in problems if p.severity == "error"]
    if errors or menu is None:
        raise DefinitionError(errors or [Problem(str(path), 1, 1, "menu could not be loaded")])
    return menu


def menu_timezone(path: str | Path) -> str | None:
    """The time zone a menu file names for its hours, read without loading the menu (None when it names none).

    For tools that only show times in the menu's zone: they keep working while an edit is broken.
    """
    problems: list[Problem] = []
    top = parse_file(Path(path), problems)
    sections = [top, *top.values.values()] if isinstance(top, YMap) else []
    for section in sections:
        hours = section.get("hours") if isinstance(section, YMap) else None
        zone = hours.get("timezone") if isinstance(hours, YMap) else None
        if isinstance(zone, YScalar) and zone.value:
            return zone.value
    return None


def check_menu(path: str | Path, max_depth: int = DEFAULT_MAX_DEPTH, durations: Durations | None = None) -> list[Problem]:
    """Every error in a menu file and, when it has none, every warning (empty when it is sound).

    `durations` gives rendered prompt lengths for the time budgets; without it they are estimated.
    """
    menu, problems = _load(Path(path), set(REGISTRY), Sources())
    if any(p.severity == "error" for p in problems) or menu is None:
        return sorted(p for p in problems if p.severity == "error")  # warnings found while reading wait for a sound menu
    problems += lint_menu(menu, max_depth)
    problems += check_budgets(menu, durations)
    return sorted(problems)


@dataclass
class _Build:
    """What a node type's builder gets (ivr.format.Build)."""

    reader: Reader
    kind: str
    node_id: str
    location: Location
    values: Mapping[str, Any]
    where: Mapping[str, Location]
    languages: tuple[str, ...]
    scope: Scope | None
    defaults: Mapping[str, Any]
    scope_broken: bool = False
    language_key: str = ""
    reported: set[tuple[Location, str]] = field(default_factory=set)

    def error(self, field: str | None, message: str) -> None:
        """Report a problem at a field, or at the node's name (once: a template filled many times says it once)."""
        loc = self.where.get(field, self.location) if field else self.location
        if (loc, message) not in self.reported:
            self.reported.add((loc, message))
            self.reader.error(loc, message)

    def retry(self) -> Retry:
        """The node's retry settings, falling back to the menu's defaults."""
        v, d = self.values, self.defaults
        return Retry(
            max_invalid=v.get("max_invalid", d["max_invalid"]),
            max_no_input=v.get("max_no_input", d["max_no_input"]),
            timeout=v.get("timeout", d["timeout"]),
            invalid_prompt=v.get("invalid") or d["invalid"],
            no_input_prompt=v.get("no_input") or d["no_input"],
            on_max_failures=v.get("on_max_failures") or d["on_max_failures"],
        )

    def blank(self) -> Text:
        """An empty text in every language."""
        return Text(dict.fromkeys(self.languages, ""))

    def listening(
        self, phrases: Mapping[str, Mapping[str, tuple[str, ...]]], options: Collection[str], field: str = "phrases"
    ) -> Listening | None:
        """How the node takes speech, when `speech` is on for it (its own field, else the defaults'); None: keys only."""
        return build_listening(self, phrases, options, field)


def _load(path: Path, action_names: set[str], files: Sources) -> tuple[Menu | None, list[Problem]]:
    problems: list[Problem] = []
    read: dict[str, str] = {}  # the text of every file exactly as parsed: the version is its hash
    root = parse_file(path, problems, read, files)
    r = Reader(problems)
    if root is None:
        return None, problems
    top = r.mapping(root, "the menu file", root.loc)
    if top is None:
        return None, problems
    r.fields(top, ("menu", "nodes"), "the menu file")
    settings = r.mapping(top.get("menu"), "'menu' (the settings)", top.loc)
    nodes_map = r.mapping(top.get("nodes"), "'nodes'", top.loc)
    if settings is None or nodes_map is None:
        return None, problems
    r.fields(settings, SETTINGS.names, SETTINGS.label)

    languages = _languages(r, settings)
    base = path.parent
    before = len(problems)
    scope, scope_files = _scope(r, settings, base, read, languages, files)
    # When scope/ is set but broken, its own errors say why: prompts do not also call each fact unknown.
    scope_broken = scope is None and len(problems) > before
    scope_values = scope.values(spoken_daily) if scope else None if scope_broken else {}
    refs: list[Ref] = []
    recorded: dict[tuple[str, str], str] = {}  # (lang, text) -> a prerecorded WAV to play instead of speech
    said_hours: HoursSpeaker | None = None  # menu.hours as said, for {hours}, once the hours are read

    def read_text(rd: Reader, m: YMap, key: str, what: str, required: bool) -> Text | None:
        if key not in m.values:
            if required:
                rd.error(m.loc, f"{what} needs the field {key!r}")
            return None
        value = _take_recordings(rd, m.values[key], base, recorded)
        text = rd.text(value, f"{key!r} of {what}", languages, m.keys[key])
        if text is None:
            return None
        where = {lang: v.loc for lang, v in value.values.items()} if isinstance(value, YMap) else {}
        # A node's {hours} is filled once its type has built it (with_hours): its own templates may mean other hours.
        hours = said_hours if rd.node is None else None
        return resolve_scope(rd, text, scope_values, where, languages, hours) if scope_values is not None else text

    plain = FieldReader(read_text, refs)
    schedule = read_schedule(r, settings, plain, languages)
    said_hours = partial(spoken_hours, schedule) if schedule is not None else None
    defaults, defaults_where = read_defaults(r, settings, languages, plain)
    key_values, _ = plain.read(r, settings, (SETTINGS.field("language_key"),), SETTINGS.label)
    language_key = key_values.get("language_key") or ""
    for_nodes = FieldReader(read_text, refs, defaults)

    nodes: dict[str, Node] = {}
    for node_id, value in nodes_map.values.items():
        context = (languages, scope, defaults, scope_broken, language_key)
        read_node = _read_node(r.for_node(node_id), node_id, value, nodes_map.keys[node_id], for_nodes, *context)
        for node in read_node:
            nodes[node.id] = with_hours(node, said_hours) if said_hours is not None else node

    simple = tuple(f for f in SETTINGS.fields if f.name in ("id", "default_language", "start", "on_error", "apology", "fallback_queue"))
    top_values, top_where = plain.read(r, settings, simple, SETTINGS.label)
    start = top_values.get("start") or ""
    loop, loop_loc = read_loop_limit(r, settings, plain)
    queues = read_queues(r, settings, plain)
    data, declared_data = read_data(r, settings, base, files)
    action_refs(r, refs, declared_data)
    _check_outcomes(r, nodes)
    check_action_data(r, refs, data, languages, settings, files)
    default_language = top_values.get("default_language")
    if default_language is not None and languages and default_language not in languages:
        r.error(settings.values["default_language"].loc, f"default_language {default_language!r} is not one of {list(languages)}")
    first_response = read_first_response(r, settings, scope, plain)
    ticket_sms = read_ticket_sms(r, settings, plain)
    budgets = read_budgets(r, settings, plain)
    fallback_texts, where = plain.read(
        r, settings, tuple(f for f in SETTINGS.fields if f.name in ("fallback_prompt", "fallback_ticket")), SETTINGS.label
    )
    # Texts said where no call values are known: the fallback path (only its new ticket), the apology, and the
    # defaults' complaints, which every node that waits for keys may say.
    apology = top_values.get("apology")
    for name, text, known, at in (
        ("fallback_prompt", fallback_texts.get("fallback_prompt"), (), where),
        ("fallback_ticket", fallback_texts.get("fallback_ticket"), ("ticket",), where),
        ("apology", apology, (), top_where),
        ("invalid", defaults.get("invalid"), (), defaults_where),
        ("no_input", defaults.get("no_input"), (), defaults_where),
    ):
        for lang, words in text.by_lang.items() if text is not None else ():
            for message in placeholder_problems(words, frozenset(known)):
                r.error(at.get(f"{name} {lang}", at.get(name, settings.loc)), message)

    # A node that failed to build is still declared: do not also call every reference to it unknown.
    declared = [*nodes, *(n for n in nodes_map.values if n not in nodes)]
    retries = [ref for ref in refs if ref[0] == "target" and ref[1] == RETRY]
    named = [ref for ref in refs if ref not in retries]
    reference_problems = check_references(named, {"target": declared, "queue": queues, "action": action_names})
    problems.extend(reference_problems)
    on_error = top_values.get("on_error") or ""
    if start in nodes and not reference_problems:  # graph findings would only echo a broken reference
        problems.extend(check_back_targets(refs, nodes))
        problems.extend(_check_retry_targets(retries, nodes, [start, loop.target, on_error]))
        problems.extend(_check_silent_loops(nodes))
        problems.extend(check_graph(nodes, [start, loop.target, on_error, defaults["on_max_failures"], defaults["on_transfer_failure"]]))
        if loop.target in nodes:
            problems.extend(check_ends_without_waiting(nodes, loop.target, loop_loc, "loop_limit.goto"))
        problems.extend(check_placeholders(nodes, [start, loop.target, on_error], _action_outputs(nodes)))
    voices = read_voices(r, settings, languages, plain)
    _tag_nodes(problems, top, path)
    if any(p.severity == "error" for p in problems) or apology is None or schedule is None:
        return None, problems
    version_files = [path, *scope_files, *(Path(p) for p in data.values())]
    sources = _sources(version_files, read, files)
    if sources is None:
        problems.append(Problem(str(path), 1, 1, "a file changed or vanished while the menu was loading; check again"))
        return None, problems
    menu = Menu(
        id=top_values.get("id") or path.stem,
        language_key=language_key,
        version=_version(sources),
        source=str(path),
        languages=languages,
        default_language=default_language or languages[0],
        schedule=schedule,
        start=start,
        nodes=nodes,
        queues=queues,
        loop_limit=loop,
        on_error=on_error,
        apology=apology,
        fallback_prompt=fallback_texts.get("fallback_prompt"),
        fallback_ticket=fallback_texts.get("fallback_ticket"),
        fallback_queue=top_values.get("fallback_queue") or "",
        ticket_first_response_minutes=first_response,
        ticket_sms=ticket_sms,
        budgets=budgets,
        data=data,
        voices=voices,
        recordings={f"{lang}\n{text}": file for (lang, text), file in recorded.items()},
        files=tuple(str(f) for f in version_files),
        sources=sources,
    )
    return menu, problems


def _read_node(
    nr: Reader,
    node_id: str,
    value: YNode,
    id_loc: Location,
    fields: FieldReader,
    languages: tuple[str, ...],
    scope: Scope | None,
    defaults: Mapping[str, Any],
    scope_broken: bool,
    language_key: str,
) -> list[Node]:
    """One `nodes:` entry, read by its type's fields and built by its type."""
    if not re.fullmatch(r"[a-z][a-z0-9_]*", node_id) or node_id in (BACK, RETRY):
        nr.error(id_loc, "a node name must be lower-case letters, digits and '_' (and not 'back' or 'retry')")
    m = nr.mapping(value, f"node {node_id!r}", id_loc)
    if m is None:
        return []
    m.loc = id_loc  # node-level findings point at the node's name, where people look for it
    kind = nr.string(m, "type", f"node {node_id!r}")
    if kind is None:
        return []
    node_type = NODE_TYPES.get(kind)
    if node_type is None:
        close = difflib.get_close_matches(kind, list(NODE_TYPES), n=1)
        hint = f"did you mean {close[0]!r}?" if close else f"use one of: {', '.join(sorted(NODE_TYPES))}"
        nr.error(m.values["type"].loc, f"unknown node type {kind!r}; {hint}")
        return []
    what = f"{kind} node {node_id!r}"
    nr.fields(m, node_type.names, what)
    values, where = fields.read(nr, m, node_type.fields, what)
    return node_type.build(_Build(nr, kind, node_id, id_loc, values, where, languages, scope, defaults, scope_broken, language_key))


def _check_retry_targets(refs: list[Ref], nodes: Mapping[str, Node], roots: list[str]) -> list[Problem]:
    """`retry` dials again the transfer that failed: only a caller's choice after a transfer's failure can use it."""
    before = failed_transfers(nodes)
    # Where a call can be without any transfer having failed: from the roots, never past a transfer.
    unfailed = reachable(nodes, roots, through=lambda node: not dials(node))
    problems = []
    for _, _, node, loc in refs:
        if not node:
            reason = "'retry' cannot be used in the menu settings: it needs a transfer that failed before"
        elif node in nodes and not nodes[node].takes_entries:
            reason = "'retry' is the caller's choice: use it in a menu's keys (or an entry's outcomes), not to redial unasked"
        elif node in nodes and not before.get(node):
            reason = f"'retry' needs a transfer whose failure leads to {node!r}, but no transfer's on_failure leads here"
        elif node in unfailed:
            reason = f"'retry' needs a failed transfer, but callers can reach {node!r} without any transfer failing first"
        else:
            continue
        problems.append(Problem(loc.file, loc.line, loc.column, reason, node or None))
    return problems


def _check_silent_loops(nodes: Mapping[str, Node]) -> list[Problem]:
    """An empty message must not lead back to its recording without the caller choosing anything."""
    # The runaway guard counts only keys: a silent caller (a withheld number sent back by `no_number`) would go round for ever.
    problems = []
    for rid, record in nodes.items():
        if not isinstance(record, RecordNode) or not record.no_message:
            continue
        came: dict[str, str] = {record.no_message: rid}
        todo = deque([record.no_message])
        while todo and rid not in todo:
            node = nodes.get(todo.popleft())
            if node is None:
                continue
            # Silence moves on from a recording by its `no_message`, and from a node that does not wait by any edge.
            if isinstance(node, RecordNode):
                ahead = [node.no_message] if node.no_message else []
            else:
                ahead = [] if node.waits else list(node.edges().values())
            for target in ahead:
                if target not in came:
                    came[target] = node.id
                    todo.append(target)
        if rid not in todo:
            continue
        cycle, cursor = [rid], came[rid]
        while cursor != rid:
            cycle.append(cursor)
            cursor = came[cursor]
        loc = record.where.get("no_message", record.location)
        message = f"a caller who says nothing goes round for ever: {' -> '.join([rid, *reversed(cycle[1:]), rid])}"
        problems.append(Problem(loc.file, loc.line, loc.column, message, rid))
    return problems


def _check_outcomes(r: Reader, nodes: Mapping[str, Node]) -> None:
    """Each outcome a node maps (`on:`) is one its named action can give: a misspelt one would never be taken."""
    for nid, node in nodes.items():
        known = frozenset().union(*(REGISTRY[a].outcomes for a in node.actions() if a in REGISTRY))
        if not known:
            continue
        for label in node.edges():
            outcome = label.removeprefix("outcome_")
            if label.startswith("outcome_") and outcome not in known:
                close = difflib.get_close_matches(outcome, sorted(known), n=1)
                hint = f"; did you mean {close[0]!r}?" if close else ""
                loc = node.where.get(f"on {outcome}", node.location)
                message = f"action {'/'.join(node.actions())!r} has no outcome {outcome!r}{hint} (outcomes: {', '.join(sorted(known))})"
                r.for_node(nid).error(loc, message)


def _action_outputs(nodes: Mapping[str, Node]) -> dict[str, frozenset[str]]:
    """The values each node's named actions give prompts."""
    return {nid: frozenset().union(*(REGISTRY[a].outputs for a in node.actions() if a in REGISTRY)) for nid, node in nodes.items()}


def _tag_nodes(problems: list[Problem], top: YMap, path: Path) -> None:
    """Name the node a file-level finding (a duplicate key, say) falls inside."""
    nodes_map = top.get("nodes")
    if not isinstance(nodes_map, YMap):
        return
    section = top.keys["nodes"].line
    end = min((loc.line for loc in top.keys.values() if loc.line > section), default=10**9)
    starts = sorted((loc.line, name) for name, loc in nodes_map.keys.items())
    for i, problem in enumerate(problems):
        if problem.node is not None or problem.file != str(path) or not section < problem.line < end:
            continue
        inside = [name for line, name in starts if line <= problem.line]
        if inside:
            problems[i] = replace(problem, node=inside[-1])


def _take_recordings(r: Reader, value: YNode, base: Path, recorded: dict[tuple[str, str], str]) -> YNode:
    """A language may give `{text: …, audio: file.wav}`: note the recording, keep the text as the prompt."""
    if not isinstance(value, YMap):
        return value
    plain = YMap(value.loc, dict(value.values), dict(value.keys))
    for lang, item in value.values.items():
        if not isinstance(item, YMap):
            continue
        r.fields(item, ("text", "audio"), f"the {lang} prompt")
        text = r.string(item, "text", f"the {lang} prompt")
        audio = r.string(item, "audio", f"the {lang} prompt")
        if text is None or audio is None:
            continue
        file = (base / audio).resolve()
        if not file.is_file():
            r.error(item.values["audio"].loc, f"recording not found: {file}")
        recorded[(lang, text.strip())] = str(file)
        plain.values[lang] = YScalar(item.values["text"].loc, text)
    return plain


def _languages(r: Reader, settings: YMap) -> tuple[str, ...]:
    langs = r.string_list(settings, "languages", SETTINGS.label)
    for lang, loc in langs:
        if not LANG.fullmatch(lang):
            r.error(loc, f"{lang!r} is not a language tag like 'zh-CN' or 'en-US'")
    seen = [lang for lang, _ in langs]
    if len(set(seen)) != len(seen):
        r.error(settings.values["languages"].loc, "a language is listed twice")
    if not seen:
        if isinstance(settings.values.get("languages"), YSeq):
            r.error(settings.values["languages"].loc, "list at least one language, e.g. [zh-CN, en-US]")
        return ()  # the error above stops the load; texts are read without checking their languages
    return tuple(dict.fromkeys(seen))


def _scope(
    r: Reader, settings: YMap, base: Path, read: dict[str, str], languages: tuple[str, ...], files: Sources
) -> tuple[Scope | None, list[Path]]:
    if "scope" not in settings.values:
        return None, []
    rel = r.string(settings, "scope", SETTINGS.label)
    if not rel:
        return None, []
    folder = (base / rel).resolve()
    if not files.is_dir(folder):
        r.error(settings.values["scope"].loc, f"scope folder not found: {folder}")
        return None, []
    return load_scope(folder, r.problems, read, languages, files)


def _sources(paths: list[Path], read: dict[str, str], files: Sources) -> dict[str, str] | None:
    """The text of every file of the version: as parsed for YAML, read now for data files."""
    out: dict[str, str] = {}
    for file in paths:
        text = read.get(str(file))
        if text is None:
            text = files.text(file)
            if text is None:
                return None
        out[str(file)] = text
    return out


def _version(sources: dict[str, str]) -> str:
    """A content hash of the files (by name and text), so equal content is the same version anywhere."""
    digest = hashlib.sha256()
    for file, text in sources.items():
        digest.update(Path(file).name.encode())
        digest.update(text.encode("utf-8"))
    return digest.hexdigest()[:12]
