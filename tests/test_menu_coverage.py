"""A tour of scripted calls that, together, take every transition of the shipped menu.

If a key, outcome or exit is added to the menu without a call here taking it, this fails and
names the untested transitions.
"""

from __future__ import annotations

from datetime import datetime

from ivr.config import Settings
from ivr.engine.coverage import Coverage
from ivr.engine.engine import Engine
from ivr.engine.events import Speech
from ivr.hotline import engine_for
from ivr.ir import Menu
from ivr.scope import Scope
from ivr.simulator import SimulatedCall
from ivr.store.tickets import TicketStore
from tests.conftest import AFTER_HOURS, IN_HOURS

ScriptedCall = tuple[datetime, str, dict[str, str]]  # when, the entries ('-' = silence), SimulatedCall options

ORDER = "202611280001#"
NOT_AN_ORDER = "12345678#"  # long enough, but no such order
TOO_SHORT = "1#"  # below the entry's min_digits
LOOP = " ".join(["*"] * 85)  # repeats past the menu's loop_limit
BUSY = {"transfer_result": "busy"}
ANONYMOUS = "anonymous"  # a withheld number: it cannot be called back

# How the shipped menu pages what it reads out (its `per_page` fields); change them together.
SOFTWARE_PER_PAGE = 3  # scope_menu: software offered on one page of a category, the next key is "more"
ITEMS_PER_PAGE = 2  # scope_covered and scope_not_covered
TERMS_PER_PAGE = 1  # third_party_terms


def _paged(reach: str, pages: int, *, retries: bool = True) -> list[ScriptedCall]:
    """Calls through an announcement read page by page (1 goes on, # returns to the menu above).

    On every page that goes on: back with # (after repeat, a wrong key, silence and the language key, with
    `retries`), and three wrong keys and three silences; then one call hears it to its end.
    """
    calls: list[ScriptedCall] = []
    for page in range(pages - 1):
        here = reach + " 1" * page
        if retries:
            calls += [(IN_HOURS, f"{here} * 7 - 9 #", {}), (IN_HOURS, f"{here} 7 7 7", {}), (IN_HOURS, f"{here} - - -", {})]
        else:
            calls.append((IN_HOURS, f"{here} #", {}))
    calls.append((IN_HOURS, reach + " 1" * (pages - 1), {}))
    return calls


def _pages(items: int, per_page: int) -> int:
    """How many pages a list of `items` takes."""
    return max(1, -(-items // per_page))


TOUR: list[ScriptedCall] = [
    # Main menu: each key, repeat, the language key, wrong keys and silence (three of either reach an agent).
    (IN_HOURS, "1", {}),
    (IN_HOURS, "0", {}),
    (IN_HOURS, "* 9 9", {}),
    (IN_HOURS, "7 - 7 - 7", {}),
    (IN_HOURS, "- - -", {}),
    # Orders: too short, not found, found (then status, back, and an agent); three failures of each kind.
    (IN_HOURS, f"2 * - {TOO_SHORT} {ORDER} * 7 - # 2 {NOT_AN_ORDER} {ORDER} 0", {}),
    (IN_HOURS, f"2 {TOO_SHORT} {TOO_SHORT} {TOO_SHORT}", {}),
    (IN_HOURS, f"2 {NOT_AN_ORDER} {NOT_AN_ORDER} {NOT_AN_ORDER}", {}),
    (IN_HOURS, "2 - - -", {}),
    (IN_HOURS, f"2 {ORDER} 7 7 7", {}),
    (IN_HOURS, f"2 {ORDER} - - -", {}),
    # Account: forgot password (self-service, then an agent), locked, other; back, wrong keys, silence.
    (IN_HOURS, "3 * 7 - 1 * 7 - # 2", {}),
    (IN_HOURS, "3 3", {}),
    (IN_HOURS, "3 1 0", {}),
    (IN_HOURS, "3 # 3 7 7 7", {}),
    (IN_HOURS, "3 - - -", {}),
    (IN_HOURS, "3 1 7 7 7", {}),
    (IN_HOURS, "3 1 - - -", {}),
    # After hours: a message, wrong keys and silence end in a callback ticket.
    (AFTER_HOURS, "1", {"voicemail": "控制台无法打开"}),
    (AFTER_HOURS, "* 7 - 7 - 7", {}),
    (AFTER_HOURS, "- - -", {}),
    # Channels (4 3): each announcement goes on with 1 and returns to the channels menu at its end or with #.
    (IN_HOURS, "4 3 * 7 - 9 #", {}),
    (IN_HOURS, "4 3 7 7 7 #", BUSY),  # no agent free: # returns to the channels menu
    (IN_HOURS, "4 3 - - -", {}),
    *_paged("4 3 1", 3),  # tickets: hours and response, how to open one, how it is handled
    *_paged("4 3 2", 3),  # group chats: hours and response, how to reach them, what they give
    *_paged("4 3 3", 2),  # live chat: hours and what it is for, then how to reach it
    *_paged("4 3 4", 2),  # notifications: how and what, then how to subscribe
    *_paged("4 3 5", 2),  # this hotline: hours and what it is for, then its number
    # Failed transfers: 1 a call back, 2 a message, 0 the same team again, # back to the menu the caller was in.
    (IN_HOURS, "1 0 #", BUSY),
    (IN_HOURS, "0 0 * 7 - 9 1", {"transfer_result": "no-answer"}),
    (IN_HOURS, f"2 {ORDER} 0 0 #", {"transfer_result": "failed"}),
    (IN_HOURS, "3 2 0 #", BUSY),
    (IN_HOURS, "3 3 0 2", {**BUSY, "voicemail": "无法登录控制台"}),
    (IN_HOURS, "3 1 0 0 #", BUSY),
    (IN_HOURS, "0 7 7 7", BUSY),
    (IN_HOURS, "0 - - -", BUSY),
    # Anonymous caller: no callback ticket, a message is offered instead; an empty one ends with a goodbye.
    (AFTER_HOURS, "- - -", {"caller": ANONYMOUS, "voicemail": "控制台无法打开"}),
    (AFTER_HOURS, "1", {"caller": ANONYMOUS}),
    # Empty message: a callback ticket for the caller's number.
    (AFTER_HOURS, "1", {}),
    # Loop limit: in hours an agent (when none answers, a callback ticket, or the polite end for a withheld number),
    # after hours the polite end.
    (IN_HOURS, LOOP, {}),
    (IN_HOURS, LOOP, BUSY),
    (IN_HOURS, LOOP, {**BUSY, "caller": ANONYMOUS}),
    (AFTER_HOURS, LOOP, {}),
    # The language key, reserved in every menu: the menu again, in the next language (the scope menus and
    # pages, channels and agents_unavailable take it in their own calls above and below).
    (IN_HOURS, "3 9 1 9 0", {}),
    (IN_HOURS, f"2 {ORDER} 9 0", {}),
    (AFTER_HOURS, "9 1", {"voicemail": "cannot log in"}),
]


def _catalog_tour(scope: Scope) -> list[ScriptedCall]:
    """Calls through the scope menu: every category page and software item, the terms, and both lists, from scope data."""
    calls: list[ScriptedCall] = [
        (IN_HOURS, "4 * 7 - 9 #", {}),
        (IN_HOURS, "4 7 7 7 #", BUSY),  # no agent free: # returns to the scope menu
        (IN_HOURS, "4 - - -", {}),
        (AFTER_HOURS, "2 #", {}),
        (AFTER_HOURS, "2 7 7 7", {}),
    ]
    more = str(SOFTWARE_PER_PAGE + 1)
    terms_pages = _pages(len(scope.lists["third_party_terms"]), TERMS_PER_PAGE)
    for i, category in enumerate(scope.categories, start=1):
        pages = [category.software[n : n + SOFTWARE_PER_PAGE] for n in range(0, len(category.software), SOFTWARE_PER_PAGE)]
        for n, page in enumerate(pages):
            here = f"4 {i}" + f" {more}" * n  # a page of the category: its software, then "more" (or the terms)
            software = " ".join(str(key) for key in range(1, len(page) + 1))  # each is told, then the page again
            calls += [
                (IN_HOURS, f"{here} * 7 - 9 {software} #", {}),
                (IN_HOURS, f"{here} 7 7 7 #", BUSY),  # no agent free: # returns to this page
                (IN_HOURS, f"{here} - - -", {}),
            ]
        # The terms of third-party advice close every category: # or their end returns to its last page.
        last_page = f"4 {i}" + f" {more}" * (len(pages) - 1)
        calls += _paged(f"{last_page} {len(pages[-1]) + 1}", terms_pages, retries=i == 1)
    # What support covers (4 4) and does not (4 5), page by page.
    calls += _paged("4 4", _pages(len(scope.lists["in_scope"]), ITEMS_PER_PAGE))
    calls += _paged("4 5", _pages(len(scope.lists["out_of_scope"]), ITEMS_PER_PAGE))
    return calls


# Where each menu that listens is reached by keys: (when, keys, call options); every phrase is said there in each language.
LISTENING_AT: dict[str, ScriptedCall] = {
    "main": (IN_HOURS, "", {}),
    "order_entry": (IN_HOURS, "2", {}),
    "account": (IN_HOURS, "3", {}),
    "scope_menu": (IN_HOURS, "4", {}),
    "scope_menu.system_tools": (IN_HOURS, "4 1", {}),
    "scope_menu.system_tools.page2": (IN_HOURS, f"4 1 {SOFTWARE_PER_PAGE + 1}", {}),
    "scope_menu.security_policy_tools": (IN_HOURS, "4 2", {}),
    "channels": (IN_HOURS, "4 3", {}),
    "closed": (AFTER_HOURS, "", {}),
    "agents_unavailable": (IN_HOURS, "1", BUSY),
}
NONSENSE = {"zh-CN": "今天天气怎么样", "en-US": "what is the weather like"}  # matches nothing at any menu


def _speech_tour(menu: Menu) -> list[tuple[datetime, list[str | Speech], dict[str, str]]]:
    """Every phrase of every listening menu said there, in its language; something understood nowhere; two options
    named at once; and digits read out at the order entry."""
    calls: list[tuple[datetime, list[str | Speech], dict[str, str]]] = []
    for node_id, (at, keys, options) in LISTENING_AT.items():
        listening = menu.nodes[node_id].listening  # type: ignore[attr-defined]
        assert listening is not None, f"{node_id} no longer listens: take it out of LISTENING_AT"
        for lang in menu.languages:
            switch = ["9"] if lang != menu.default_language else []  # the language key, in the first menu
            reach: list[str | Speech] = [*switch, *keys.split()]
            phrases = [p for by_lang in listening.phrases.values() for p in by_lang.get(lang, ())]
            calls += [(at, [*reach, Speech(p)], options) for p in phrases]
            calls.append((at, [*reach, *[Speech(NONSENSE[lang])] * 3], options))
            firsts = [by_lang[lang][0] for by_lang in listening.phrases.values() if by_lang.get(lang)]
            if len(firsts) > 1:
                calls.append((at, [*reach, Speech(f"{firsts[0]} {firsts[1]}"), Speech(firsts[0])], options))
    calls.append((IN_HOURS, ["2", Speech("幺二三四五六七八")], {}))
    calls.append((IN_HOURS, ["2", "0"], {}))  # 0 at the order entry reaches a person, as in every menu
    return calls


class OrderLookupDown:
    """Stands in for an order back-end that is down, to take the menu's error path."""

    def __call__(self, ctx: object) -> object:
        """Fail as a timed-out back-end would."""
        raise TimeoutError("order back-end timed out")


def test_tour_takes_every_transition(menu: Menu, store: TicketStore, scope: Scope) -> None:
    """Every key, outcome, back, repeat, failure exit, hours branch and transfer result is taken by some call."""
    coverage = Coverage()
    engine = engine_for(menu, store, Settings())
    for at, keys, options in TOUR + _catalog_tour(scope):
        call = SimulatedCall(engine, at=at, **options)
        call.run(["" if k == "-" else k for k in keys.split()])
        coverage.add(call.transitions)
        assert call.lines[-1]["type"] == "hangup"
    for at, entries, options in _speech_tour(menu):
        call = SimulatedCall(engine, at=at, **options)
        call.run(entries)
        coverage.add(call.transitions)
    broken = Engine(menu, tickets=store, actions={"order_lookup": OrderLookupDown()})
    failing = SimulatedCall(broken, at=IN_HOURS)
    failing.run(["2", ORDER])
    coverage.add(failing.transitions)
    missing = [str(edge) for edge in coverage.missing(engine.machine)]
    assert missing == [], f"{len(missing)} transitions untested:\n" + "\n".join(missing)
    assert coverage.percent(engine.machine) == 100.0
