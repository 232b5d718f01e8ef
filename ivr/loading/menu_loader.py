"""Menu file → validated `Menu`; every problem is collected with file, line, column and node."""

from __future__ import annotations

import hashlib
import re
from collections.abc import Collection
from dataclasses import replace
from pathlib import Path

from ivr.actions import REGISTRY
from ivr.errors import DefinitionError, Problem
from ivr.ir import Location, Menu, Node
from ivr.loading.checks import check_back_targets, check_ends_without_waiting, check_graph, check_references
from ivr.loading.lint import DEFAULT_MAX_DEPTH, lint_menu
from ivr.loading.nodes import BUILDERS, Context, Ref
from ivr.loading.reader import Reader
from ivr.loading.scope_loader import load_scope
from ivr.loading.scope_nodes import SCOPE_BUILDERS
from ivr.loading.settings import (
    action_refs,
    check_action_data,
    read_data,
    read_defaults,
    read_first_response,
    read_loop_limit,
    read_queues,
    read_schedule,
    read_setting_target,
    read_voices,
)
from ivr.loading.yamltree import YMap, YNode, YScalar, parse_file
from ivr.scope import Scope
from ivr.text import PLACEHOLDER, Text

ALL_BUILDERS = {**BUILDERS, **SCOPE_BUILDERS}
SCOPE_REF = re.compile(r"\{scope:([a-z0-9_.]+)\}")
LANG = re.compile(r"[a-z]{2,3}(-[A-Z][a-zA-Z]{1,3})?")
SETTINGS = (
    "id", "languages", "default_language", "start", "scope", "data", "hours", "defaults",
    "loop_limit", "on_error", "apology", "fallback_prompt", "fallback_ticket", "fallback_queue", "queues", "tickets", "voices",
)  # fmt: skip


def load_menu(path: str | Path, *, actions: Collection[str] | None = None) -> Menu:
    """Load and validate a menu file; raises DefinitionError listing every problem."""
    menu, problems = _load(Path(path), set(REGISTRY) if actions is None else set(actions))
    errors = [p for p in problems if p.severity == "error"]
    if errors or menu is None:
        raise DefinitionError(errors or [Problem(str(path), 1, 1, "menu could not be loaded")])
    return menu


def check_menu(path: str | Path, max_depth: int = DEFAULT_MAX_DEPTH) -> list[Problem]:
    """Every error in a menu file and, when it has none, every warning (empty when it is sound)."""
    menu, problems = _load(Path(path), set(REGISTRY))
    if menu is not None and not any(p.severity == "error" for p in problems):
        problems += lint_menu(menu, max_depth)
    return sorted(problems)


def _load(path: Path, action_names: set[str]) -> tuple[Menu | None, list[Problem]]:
    problems: list[Problem] = []
    read: dict[str, str] = {}  # the text of every file exactly as parsed: the version is its hash
    root = parse_file(path, problems, read)
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
    r.fields(settings, SETTINGS, "the menu settings")

    languages = _languages(r, settings)
    base = path.parent
    scope, scope_files = _scope(r, settings, base, read)
    scope_values = scope.values() if scope else {}
    ctx_refs: list[Ref] = []
    recorded: dict[tuple[str, str], str] = {}  # (lang, text) -> a prerecorded WAV to play instead of speech

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
        return _resolve_scope(rd, text, scope_values, where)

    defaults = read_defaults(r, settings, languages, read_text, ctx_refs)
    ctx = Context(languages, defaults, read_text, ctx_refs, scope)

    nodes: dict[str, Node] = {}
    for node_id, value in nodes_map.values.items():
        nr = r.for_node(node_id)
        id_loc = nodes_map.keys[node_id]
        if not re.fullmatch(r"[a-z][a-z0-9_]*", node_id) or node_id == "back":
            nr.error(id_loc, "a node name must be lower-case letters, digits and '_' (and not 'back')")
        m = nr.mapping(value, f"node {node_id!r}", id_loc)
        if m is None:
            continue
        m.loc = id_loc  # node-level findings point at the node's name, where people look for it
        kind = nr.string(m, "type", f"node {node_id!r}")
        if kind is None:
            continue
        builder = ALL_BUILDERS.get(kind)
        if builder is None:
            nr.error(m.values["type"].loc, f"unknown node type {kind!r}; use one of: {', '.join(sorted(ALL_BUILDERS))}")
            continue
        for node in builder(nr, node_id, m, ctx):
            nodes[node.id] = node

    start = r.string(settings, "start", "the menu settings") or ""
    if start:
        ctx_refs.append(("target", start, "", settings.values["start"].loc))
    loop, loop_loc = read_loop_limit(r, settings, ctx_refs)
    on_error = read_setting_target(r, settings, "on_error", ctx_refs)
    fallback = r.string(settings, "fallback_queue", "the menu settings") or ""
    if fallback:
        ctx_refs.append(("queue", fallback, "", settings.values["fallback_queue"].loc))
    apology = read_text(r, settings, "apology", "the menu settings", True)
    queues = read_queues(r, settings)
    data, declared_data = read_data(r, settings, base)
    action_refs(r, ctx_refs, declared_data)
    check_action_data(r, ctx_refs, data, languages, settings)
    default_language = r.string(settings, "default_language", "the menu settings", required=False, default=None)
    if default_language is not None and languages and default_language not in languages:
        r.error(settings.values["default_language"].loc, f"default_language {default_language!r} is not one of {list(languages)}")
    schedule = read_schedule(r, settings)
    tickets = r.mapping(settings.get("tickets"), "'tickets'", settings.loc) if "tickets" in settings.values else None
    first_response = read_first_response(r, tickets, scope)

    # A node that failed to build is still declared: do not also call every reference to it unknown.
    declared = [*nodes, *(n for n in nodes_map.values if n not in nodes)]
    reference_problems = check_references(ctx_refs, {"target": declared, "queue": queues, "action": action_names})
    problems.extend(reference_problems)
    if start in nodes and not reference_problems:  # graph findings would only echo a broken reference
        problems.extend(check_back_targets(ctx_refs, nodes))
        problems.extend(check_graph(nodes, [start, loop.target, on_error, defaults.on_max_failures, defaults.on_transfer_failure]))
        if loop.target in nodes:
            problems.extend(check_ends_without_waiting(nodes, loop.target, loop_loc, "loop_limit.goto"))
    _tag_nodes(problems, top, path)
    if any(p.severity == "error" for p in problems) or apology is None or schedule is None:
        return None, problems
    version_files = [path, *scope_files, *(Path(p) for p in data.values())]
    sources = _sources(version_files, read)
    if sources is None:
        problems.append(Problem(str(path), 1, 1, "a file changed or vanished while the menu was loading; check again"))
        return None, problems
    menu = Menu(
        id=r.string(settings, "id", "the menu settings") or path.stem,
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
        fallback_prompt=read_text(r, settings, "fallback_prompt", "the menu settings", False),
        fallback_ticket=read_text(r, settings, "fallback_ticket", "the menu settings", False),
        fallback_queue=fallback,
        ticket_first_response_minutes=first_response,
        data=data,
        voices=read_voices(r, settings, languages),
        recordings={f"{lang}\n{text}": file for (lang, text), file in recorded.items()},
        files=tuple(str(f) for f in version_files),
        sources=sources,
    )
    return menu, problems


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
    langs = r.string_list(settings, "languages", "the menu settings")
    for lang, loc in langs:
        if not LANG.fullmatch(lang):
            r.error(loc, f"{lang!r} is not a language tag like 'zh-CN' or 'en-US'")
    seen = [lang for lang, _ in langs]
    if len(set(seen)) != len(seen):
        r.error(settings.values["languages"].loc, "a language is listed twice")
    if not seen:
        if "languages" in settings.values:
            r.error(settings.values["languages"].loc, "list at least one language, e.g. [zh-CN, en-US]")
        return ("zh-CN",)
    return tuple(dict.fromkeys(seen))


def _resolve_scope(r: Reader, text: Text, values: dict[str, Text], where: dict[str, Location]) -> Text:
    """Replace `{scope:PATH}` with scope data; an unknown PATH is an error at that language's text."""

    def one(lang: str, s: str) -> str:
        loc = where[lang]

        def sub(match: re.Match[str]) -> str:
            key = match.group(1)
            if key not in values:
                close = [k for k in values if k.split(".")[-1] == key.split(".")[-1]][:3]
                hint = f"; did you mean {', '.join(close)}?" if close else ""
                r.error(loc, f"unknown scope item {key!r}{hint}")
                return ""
            return values[key].get(lang)

        resolved = SCOPE_REF.sub(sub, s)
        for bad in re.findall(r"\{[^}]*\}", PLACEHOLDER.sub("", resolved)):
            r.error(loc, f"malformed placeholder {bad!r}: use {{name}}, {{name|digits}} or {{scope:path}}")
        return resolved

    return text.map(one)


def _scope(r: Reader, settings: YMap, base: Path, read: dict[str, str]) -> tuple[Scope | None, list[Path]]:
    if "scope" not in settings.values:
        return None, []
    rel = r.string(settings, "scope", "the menu settings")
    if not rel:
        return None, []
    folder = (base / rel).resolve()
    if not folder.is_dir():
        r.error(settings.values["scope"].loc, f"scope folder not found: {folder}")
        return None, []
    return load_scope(folder, r.problems, read)


def _sources(files: list[Path], read: dict[str, str]) -> dict[str, str] | None:
    """The text of every file of the version: as parsed for YAML, read now for data files."""
    out: dict[str, str] = {}
    for file in files:
        text = read.get(str(file))
        if text is None:
            try:
                text = file.read_bytes().decode("utf-8")
            except (OSError, UnicodeDecodeError):
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
