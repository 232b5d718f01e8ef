"""The `ivr` command line."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from datetime import datetime
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from ivr.config import DEFAULT_MENU, Settings
from ivr.effort import Durations
from ivr.errors import ConfigError, DefinitionError, IvrError
from ivr.history_cli import add_commands
from ivr.hours import local_time
from ivr.loading.menu_loader import check_menu
from ivr.tickets_cli import add_commands as add_ticket_commands

if TYPE_CHECKING:
    # Only for annotations: the store pulls in SQLAlchemy, which `ivr --help` must not pay for.
    from ivr.ir import Menu
    from ivr.store import Store


def _parse_at(value: str | None, timezone: str) -> datetime:
    """--at: ISO 8601; a time without an offset is taken in the menu's time zone."""
    if value is None:
        return datetime.now(ZoneInfo(timezone))
    example = "2026-11-30T10:00:00+08:00"
    if "T" not in value and " " not in value.strip():
        raise ConfigError(f"--at {value!r} has no time of day; give one, e.g. {example}")
    try:
        at = local_time(value, timezone)
    except ValueError as exc:
        raise ConfigError(f"--at {value!r} is {exc}") from None
    if at is None:
        raise ConfigError(f"--at {value!r} is not an ISO 8601 time such as {example}")
    return at


def cmd_call(args: argparse.Namespace) -> int:
    """Place a call on the console."""
    from ivr.console import run_call
    from ivr.hotline import open_hotline

    settings = Settings.from_env().with_options(menu_path=args.menu).with_database_file(args.db, new_folder=True).without_hand_off()
    hotline = open_hotline(settings, reload=False)
    engine = hotline.engine
    if args.lang is not None and args.lang not in engine.menu.languages:
        hotline.close()
        raise ConfigError(f"--lang {args.lang!r} is not one of the menu's languages: {', '.join(engine.menu.languages)}")
    try:
        run_call(
            engine,
            at=_parse_at(args.at, engine.menu.schedule.timezone),
            caller=args.caller,
            lang=args.lang,
            keys=args.keys,
            voicemail=args.voicemail,
            transfer_result=args.transfer_result,
            as_json=args.json,
            speak=args.speak,
            audio_dir=settings.audio_dir,
            on_end=hotline.keep_story("console"),
        )
    finally:
        hotline.close()
    return 0


def cmd_menu_check(args: argparse.Namespace) -> int:
    """Validate menu files; print problems as file:line:column."""
    status = 0
    durations = _audio_durations(Path(args.audio))  # rendered lengths for the time budgets; estimated without
    for path in args.paths:
        problems = check_menu(path, max_depth=args.max_depth, durations=durations)
        for problem in problems:
            print(problem, file=sys.stdout)
        errors = sum(p.severity == "error" for p in problems)
        warnings = len(problems) - errors
        if errors or (warnings and args.strict):
            status = 1
        summary = f"{errors} error(s), {warnings} warning(s)" if problems else "ok"
        print(f"{path}: {summary}", file=sys.stderr)
    return status


def cmd_menu_schema(args: argparse.Namespace) -> int:
    """Print the JSON Schema of the menu format."""
    from ivr.loading.schema import menu_schema

    print(json.dumps(menu_schema(), ensure_ascii=False, indent=2))
    return 0


def cmd_menu_graph(args: argparse.Namespace) -> int:
    """Draw the compiled state machine."""
    from pathlib import Path

    from ivr.diagram import menu_diagram
    from ivr.loading.menu_loader import load_menu

    text = menu_diagram(load_menu(args.path), args.format)
    if args.out:
        Path(args.out).write_text(text, encoding="utf-8")
        print(f"wrote {args.out}", file=sys.stderr)
    else:
        print(text, end="")
    return 0


def cmd_menu_report(args: argparse.Namespace) -> int:
    """How many keys and seconds of prompts callers go through to reach each destination."""
    from pathlib import Path

    from ivr.effort import routes
    from ivr.loading.menu_loader import load_menu

    menu = load_menu(args.path)
    if args.lang is not None and args.lang not in menu.languages:
        raise ConfigError(f"--lang {args.lang!r} is not one of the menu's languages: {', '.join(menu.languages)}")
    durations = _audio_durations(Path(args.audio))
    rows = routes(menu, args.lang, durations)
    if args.json:
        print(json.dumps([r.__dict__ for r in rows], ensure_ascii=False, indent=2))
    else:
        width = max((len(r.destination) for r in rows), default=20)
        keys_width = max((len(" ".join(r.keys)) for r in rows), default=4)
        spoken = any(r.speech and list(r.speech) != [k for k in r.keys if not k.startswith("(")] for r in rows)
        print(f"{'destination':<{width}}  {'hours':<6}  {'seconds':>7}  {'keys':<{keys_width}}" + ("  or say" if spoken else ""))
        for r in rows:
            mark = "~" if r.estimated else " "
            said = f"  {' → '.join(r.speech)}" if spoken and any(s.startswith("say ") for s in r.speech) else ""
            print(f"{r.destination:<{width}}  {r.hours:<6}  {r.seconds:6.1f}{mark}  {' '.join(r.keys) or '-':<{keys_width}}{said}".rstrip())
        print(
            "seconds: prompts heard before the destination; a menu counts up to the end of the clause that announces the key "
            "pressed (callers barge in), every other prompt whole; ~ estimated from the text (no rendered audio); "
            "keys in parentheses are what happens, not what is pressed; a page row is a later page of a list or announcement, "
            "heard by a caller who pressed to hear more (--max-seconds and the budgets hold destinations, not pages)"
        )
    # A later page of a list is heard by a caller who chose to hear more: part of the destination its first page starts.
    over = [r for r in rows if args.max_seconds is not None and r.seconds > args.max_seconds and r.kind != "page"]
    if over:
        print(f"{len(over)} destination(s) over --max-seconds {args.max_seconds:g}:", file=sys.stderr)
        for r in over:
            print(f"  {r.destination} ({r.hours}): {r.seconds:.1f} s", file=sys.stderr)
        return 1
    return 0


def _audio_durations(folder: Path) -> Durations | None:
    """Durations of rendered prompts from the audio manifest, when there is one."""
    if not (folder / "manifest.json").is_file():
        return None
    from ivr.audio.index import AudioIndex

    index = AudioIndex(folder)  # the same (lang, text) index the webhooks use for <Play>

    def seconds(lang: str, text: str) -> float | None:
        entry = index.lookup(lang, text)
        return entry.duration if entry else None

    return seconds


def cmd_audio_build(args: argparse.Namespace) -> int:
    """Render every prompt of a menu to audio (only what changed since the last build), then check it as `audio check` does."""
    from ivr.audio import build_audio
    from ivr.audio.prompts import menu_prompts, renderer_for
    from ivr.loading.menu_loader import load_menu

    menu = load_menu(args.menu)
    renderer = renderer_for(menu)
    report = build_audio(menu_prompts(menu), Path(args.out), renderer, progress=sys.stderr)
    print(report)
    return _audio_check(menu, Path(args.out))


def cmd_audio_check(args: argparse.Namespace) -> int:
    """Ask espeak-ng how each rendered prompt will sound; report language switches, and the loudness of the built files."""
    from ivr.loading.menu_loader import load_menu

    return _audio_check(load_menu(args.menu), Path(args.out))


def _audio_check(menu: Menu, folder: Path) -> int:
    from ivr.audio.phonemes import check_prompts
    from ivr.audio.prompts import menu_prompts, renderer_for

    prompts = menu_prompts(menu)
    problems = [str(p) for p in check_prompts(prompts, renderer_for(menu))]
    if (folder / "manifest.json").is_file():
        from ivr.audio.index import AudioIndex
        from ivr.audio.levels import levels

        index = AudioIndex(folder)
        for spec in prompts:  # a build older than the menu, or a file deleted since
            entry = index.lookup(spec.lang, spec.text)
            if entry is None or not index.telephone_file(entry).is_file():
                problems.append(f"{spec.id} [{spec.lang}]: not built in {folder} (run `ivr audio build`): {spec.text[:40]!r}")
        report = levels(folder)
        print(report)
        problems += [f"level: {p}" for p in report.problems]
    for problem in problems:
        print(f"{menu.source}: error: {problem}")
    spoken = "every rendered prompt speaks its own language" if not problems else f"{len(problems)} problem(s) with what callers would hear"
    print(f"{menu.source}: {spoken}", file=sys.stderr)
    return 1 if problems else 0


def _store() -> Store:
    from ivr.store import Store

    return Store(Settings.from_env().store_url())


def cmd_menu_publish(args: argparse.Namespace) -> int:
    """Validate a menu and publish it as the version every worker serves."""
    from ivr.loading.menu_loader import load_menu

    menu = load_menu(args.path)
    store = _store()
    try:
        store.menus.publish(menu)
    finally:
        store.close()
    print(f"published {menu.id} version {menu.version}; every worker serves it within seconds")
    return 0


def cmd_menu_versions(args: argparse.Namespace) -> int:
    """List stored menu versions, marking the one in service."""
    store = _store()
    try:
        rows = store.menus.list_versions()
        live = {r.menu_id: store.menus.newest_published(r.menu_id) for r in rows}
    finally:
        store.close()
    if not rows:
        print("no menu versions stored yet (a server stores each version it loads; `ivr menu publish` stores one)")
    for r in rows:
        mark = "*" if live.get(r.menu_id) == r.version else " "
        published = f"published {r.published_at:%Y-%m-%d %H:%M:%S}Z" if r.published_at else "not published"
        print(f"{mark} {r.version}  {r.menu_id:<24} stored {r.created_at:%Y-%m-%d %H:%M:%S}Z  {published}")
    return 0


def cmd_menu_rollback(args: argparse.Namespace) -> int:
    """Publish an earlier stored version again."""
    store = _store()
    try:
        stored = store.menus.load(args.version)
        if stored is None:
            raise ConfigError(f"no stored menu version {args.version!r}; see `ivr menu versions`")
        store.menus.mark_published(args.version)
    finally:
        store.close()
    print(f"rolled back {stored.menu_id} to version {args.version}; every worker serves it within seconds")
    return 0


def cmd_db_upgrade(args: argparse.Namespace) -> int:
    """Bring the database's schema to this release's and say what was done."""
    from ivr.store.migrate import upgrade_report

    settings = Settings.from_env().with_database_file(args.db)
    print(upgrade_report(settings.store_url()))
    return 0


def cmd_serve(args: argparse.Namespace) -> int:
    """Run the Twilio webhooks under gunicorn."""
    from ivr.serve import serve

    serve(args.host, args.port, args.workers, args.threads, read_timeout=args.read_timeout)
    return 0


def _seconds(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        value = 0.0
    if not 0 < value <= 60:  # also refuses nan; a request read for longer than Twilio waits helps no caller
        raise argparse.ArgumentTypeError(f"{text!r} is not a number of seconds more than 0 and at most 60")
    return value


def cmd_qa_run(args: argparse.Namespace) -> int:
    """Run QA flow files."""
    import os
    import time
    from pathlib import Path

    from ivr.qa.report import coverage_report, print_coverage, print_results, write_junit
    from ivr.qa.runner import RunOptions, coverage_of_results, find_flow_files, run_flows

    paths = find_flow_files(args.paths)
    if not paths:
        raise ConfigError(f"no flow files (*.yaml) found in {' '.join(args.paths)}")
    token = os.environ.get("TWILIO_AUTH_TOKEN", "")
    if args.url and not token:
        raise ConfigError("--url needs TWILIO_AUTH_TOKEN: requests are signed as Twilio signs them")
    options = RunOptions(
        Path(DEFAULT_MENU),
        url=args.url or "",
        auth_token=token,
        public_url=args.public_url or "",
        account_sid=os.environ.get("TWILIO_ACCOUNT_SID", "").strip(),
        menu_override=Path(args.menu) if args.menu else None,
    )
    started = time.perf_counter()
    results = run_flows(paths, options, workers=args.workers)
    seconds = time.perf_counter() - started
    print_results(results, sys.stdout, seconds)
    if args.junit:
        write_junit(results, Path(args.junit), seconds)
    status = 0 if all(r.status in ("passed", "skipped") for r in results) else 1
    if args.coverage or args.fail_under is not None:
        for menu, coverage in sorted(coverage_of_results(results).items()):
            report = coverage_report(menu, coverage)
            print_coverage(report, sys.stdout)
            if args.fail_under is not None and report.percent < args.fail_under:
                print(f"coverage {report.percent:.1f}% is under --fail-under {args.fail_under:g}%", file=sys.stderr)
                status = 1
    return status


def cmd_qa_generate(args: argparse.Namespace) -> int:
    """Write flows that cover every transition of a menu."""
    from pathlib import Path

    from ivr.qa.generate import generate_flows

    written = generate_flows(Path(args.menu), Path(args.out))
    for path in written:
        print(path)
    print(f"{len(written)} flow(s) written to {args.out}", file=sys.stderr)
    return 0


def _positive(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be 1 or more")
    return value


def _version() -> str:
    try:
        return metadata.version("ivr")
    except metadata.PackageNotFoundError:  # a source tree run without `pip install`
        return "(version unknown: not installed)"


def _commands(parser: argparse.ArgumentParser) -> argparse._SubParsersAction[argparse.ArgumentParser]:
    # No dest: argparse would show it to users ("required: menu_command"); each command sets `func`.
    return parser.add_subparsers(title="commands", metavar="COMMAND", required=True)


def build_parser() -> argparse.ArgumentParser:
    """The argument parser for every sub-command."""
    parser = argparse.ArgumentParser(prog="ivr", description="The after-sales support hotline: menus, calls and tickets.")
    parser.add_argument("--version", action="version", version=f"%(prog)s {_version()}")
    sub = _commands(parser)

    call = sub.add_parser("call", help="place a call on the console simulator")
    call.add_argument("--menu", help="menu file (default: $IVR_MENU or menus/volcengine.yaml)")
    call.add_argument("--at", help="the call's time, ISO 8601 (default: now); without an offset, the menu's time zone")
    call.add_argument("--caller", default="+8613800000000", help="the caller's number")
    call.add_argument("--lang", help="the call's starting language, one of the menu's (default: the menu's first)")
    call.add_argument(
        "--keys",
        help='scripted entries separated by spaces: keys, "-" for no input, words said in double quotes ("我想查订单") or after say:; '
        "the caller hangs up when they run out",
    )
    call.add_argument("--voicemail", default="", help="what the caller says when a message is recorded")
    call.add_argument(
        "--transfer-result",
        default="answered",
        choices=["answered", "no-answer", "busy", "failed"],
        help="how transfers end (default: an agent answers)",
    )
    call.add_argument("--speak", action="store_true", help="speak each prompt aloud (pyttsx3)")
    call.add_argument("--json", action="store_true", help="one JSON object per line")
    call.add_argument("--db", help="SQLite file for tickets (default: $IVR_SQLITE_PATH or var/ivr.sqlite3)")
    call.set_defaults(func=cmd_call)

    server = sub.add_parser("serve", help="answer Twilio voice webhooks (gunicorn)")
    server.add_argument("--host", default="127.0.0.1", help="address to listen on (default 127.0.0.1)")
    server.add_argument("--port", type=int, default=8000, help="port (default 8000)")
    server.add_argument("--workers", type=_positive, default=2, help="worker processes (default 2)")
    server.add_argument("--threads", type=_positive, default=8, help="threads per worker (default 8)")
    server.add_argument(
        "--read-timeout",
        type=_seconds,
        default=5.0,
        metavar="SECONDS",
        help="close a client whose request has not fully arrived this long after its first byte (default 5)",
    )
    server.set_defaults(func=cmd_serve)

    qa = _commands(sub.add_parser("qa", help="QA call flows"))
    qa_run = qa.add_parser("run", help="run flow files (or folders of them)")
    qa_run.add_argument("paths", nargs="+", metavar="PATH")
    qa_run.add_argument("--junit", metavar="FILE", help="write JUnit XML")
    qa_run.add_argument("--coverage", action="store_true", help="print menu coverage and what no flow took")
    qa_run.add_argument("--fail-under", type=float, metavar="PCT", help="exit 1 when transition coverage is below PCT")
    qa_run.add_argument("--workers", type=_positive, default=1, help="processes to run flows in (default 1)")
    qa_run.add_argument("--url", metavar="BASE_URL", help="run against a live `ivr serve` (requests signed with TWILIO_AUTH_TOKEN)")
    qa_run.add_argument("--public-url", metavar="URL", help="the URL the server signs for, when it differs from --url")
    qa_run.add_argument("--menu", help="run every flow on this menu (e.g. an edited copy); default: each flow's own, else the shipped menu")
    qa_run.set_defaults(func=cmd_qa_run)
    qa_gen = qa.add_parser("generate", help="write flows that together cover every transition of a menu")
    qa_gen.add_argument("--menu", required=True, help="the menu file")
    qa_gen.add_argument("--out", required=True, help="folder to write the flows to")
    qa_gen.set_defaults(func=cmd_qa_generate)

    menu = _commands(sub.add_parser("menu", help="work with menu files"))
    check = menu.add_parser("check", help="validate and lint menu files; exit 1 on any error")
    check.add_argument("paths", nargs="+", metavar="PATH")
    check.add_argument("--max-depth", type=int, default=4, help="warn about menus nested deeper than this (default 4)")
    check.add_argument("--strict", action="store_true", help="exit 1 on warnings too")
    check.add_argument("--audio", default="audio", help="rendered audio folder for the time budgets (default: audio; else estimated)")
    check.set_defaults(func=cmd_menu_check)

    schema = menu.add_parser("schema", help="print the JSON Schema of the menu format")
    schema.set_defaults(func=cmd_menu_schema)
    graph = menu.add_parser("graph", help="draw the compiled state machine")
    graph.add_argument("path", metavar="PATH")
    graph.add_argument("--format", choices=["mermaid", "dot"], default="mermaid")
    graph.add_argument("--out", metavar="FILE", help="write to FILE instead of standard output")
    graph.set_defaults(func=cmd_menu_graph)
    report = menu.add_parser("report", help="keys and seconds of prompts before each destination, worst first")
    report.add_argument("path", metavar="PATH")
    report.add_argument("--lang", help="the callers' language (default: the menu's)")
    report.add_argument("--audio", default="audio", help="rendered audio folder for real durations (default: audio)")
    report.add_argument("--json", action="store_true", help="print JSON")
    report.add_argument("--max-seconds", type=float, metavar="N", help="exit 1 when any destination is heard after more than N s")
    report.set_defaults(func=cmd_menu_report)

    publish = menu.add_parser("publish", help="validate a menu and publish it to every worker through the database")
    publish.add_argument("path", metavar="PATH")
    publish.set_defaults(func=cmd_menu_publish)
    versions = menu.add_parser("versions", help="list stored menu versions (* = in service)")
    versions.set_defaults(func=cmd_menu_versions)
    rollback = menu.add_parser("rollback", help="serve an earlier version again")
    rollback.add_argument("version", metavar="VERSION")
    rollback.set_defaults(func=cmd_menu_rollback)

    audio = _commands(sub.add_parser("audio", help="rendered prompt audio"))
    audio_build = audio.add_parser("build", help="render every prompt in every language (pyttsx3, espeak-ng voices)")
    audio_build.add_argument("--menu", default="menus/volcengine.yaml", help="menu file (default: the shipped menu)")
    audio_build.add_argument("--out", default="audio", help="audio folder with manifest.json (default: audio)")
    audio_build.add_argument("--progress", action="store_true", help="(kept for scripts: progress always shows, as a bar on a terminal)")
    audio_build.set_defaults(func=cmd_audio_build)
    audio_check = audio.add_parser("check", help="check with espeak-ng that every rendered prompt speaks its language; loudness figures")
    audio_check.add_argument("--menu", default="menus/volcengine.yaml", help="menu file (default: the shipped menu)")
    audio_check.add_argument("--out", default="audio", help="audio folder whose files' loudness to report (default: audio)")
    audio_check.set_defaults(func=cmd_audio_check)

    add_ticket_commands(sub, _commands)
    add_commands(sub, _commands)

    db = _commands(sub.add_parser("db", help="the database's schema"))
    db_upgrade = db.add_parser("upgrade", help="bring the schema to this release's (`ivr serve` does it at start too)")
    db_upgrade.add_argument("--db", help="SQLite file (default: $IVR_SQLITE_PATH or var/ivr.sqlite3)")
    db_upgrade.set_defaults(func=cmd_db_upgrade)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the `ivr` console script."""
    args = build_parser().parse_args(argv)
    try:
        return int(args.func(args))
    except DefinitionError as exc:
        print(exc, file=sys.stderr)
        return 1
    except IvrError as exc:
        print(f"ivr: {exc}", file=sys.stderr)
        return 2
    except BrokenPipeError:
        # The reader went away (`ivr … | head`): stop quietly, and keep Python from complaining at exit.
        sys.stdout = open(os.devnull, "w")  # noqa: SIM115 - replaced for the rest of the process
        return 141
    except OSError as exc:  # a file the command was asked to read or write (--out, --db …)
        print(f"ivr: {exc.strerror or exc}: {exc.filename or ''}".rstrip(": "), file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        return 130


if __name__ == "__main__":
    sys.exit(main())
