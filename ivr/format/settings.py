"""The `menu:` part of a menu file, section by section: what each setting is, its kind, range and default."""

from __future__ import annotations

from ivr.format.fields import (
    ADDRESS,
    ADDRESS_DOC,
    DATE,
    DAY_SPEC,
    LANGUAGE_TAG,
    Choice,
    Count,
    Localised,
    MapOf,
    Nested,
    Section,
    Target,
    Word,
    Words,
)
from ivr.hours import DEFAULT_REASONS, FORCE_VALUES
from ivr.ir import Budgets

__all__ = [
    "BUDGETS",
    "DEFAULTS",
    "HOURS",
    "LOOP_LIMIT",
    "MENU_FILE",
    "OVERRIDE",
    "OVERRIDE_HOURS",
    "QUEUE",
    "REASONS",
    "SETTINGS",
    "TICKETS",
    "VOICE",
    "WINDOWS",
]

# Opening hours: one 'HH:MM-HH:MM', a list of them, or 'closed' (read by the hours reader, schema in $defs.windows).
WINDOWS = Word("windows", "Opening hours.")


def _default_reason(name: str) -> str:
    return " / ".join(DEFAULT_REASONS[name].values())


REASONS = Section(
    "'reasons'",
    "Closed reasons",
    "Why the line is closed: the closed branch of an hours node sets {closed_reason} to one of these, as said inside a "
    "prompt (no placeholders but {hours}).",
    (
        Localised("after_hours", f"Outside the weekly hours (default: {_default_reason('after_hours')})."),
        Localised("holiday", f"On a dated override that closes the day and gives no reason (default: {_default_reason('holiday')})."),
        Localised("forced", f"While force or IVR_HOURS_OVERRIDE closes the line (default: {_default_reason('forced')})."),
        Localised(
            "special_hours",
            "Outside the hours of a dated override that gives hours of its own and no reason; {hours} is that day's hours "
            f"(default: {_default_reason('special_hours')}).",
        ),
    ),
)

# An override's hours, written as opening hours are anywhere (read by the hours reader, schema in $defs.windows).
OVERRIDE_HOURS = Word("hours", "Opening hours that day: 'HH:MM-HH:MM', a list of them, or 'closed'.", default="closed")

# A dated override written as a mapping, to give its reason (the plain form is its `hours` alone).
OVERRIDE = Section(
    "override 'DATE'",
    "Override",
    "One date's hours and why the line is closed that day.",
    (
        OVERRIDE_HOURS,
        Localised("reason", "Said as {closed_reason} while the line is closed that day (default: reasons.holiday on a closed day)."),
    ),
)

HOURS = Section(
    "'hours'",
    "Business hours",
    "When the phone line is staffed.",
    (
        Word("timezone", "IANA time zone of the hours.", required=True, examples=("Asia/Shanghai",)),
        MapOf(
            "weekly",
            "Days → hours: daily, mon..sun or a range like mon-fri; later lines win.",
            required=True,
            key_pattern=DAY_SPEC,
            key_doc="DAYS",
            value=WINDOWS,
            value_doc="Opening hours on these days.",
        ),
        MapOf(
            "overrides",
            "Dates (YYYY-MM-DD) → hours, or {hours, reason} to say why the line is closed; an override decides its whole date.",
            key_pattern=DATE,
            key_doc="DATE",
            value=WINDOWS,
            value_doc="Opening hours on this date, or a mapping (OVERRIDE).",
            or_section=OVERRIDE,
        ),
        Choice("force", "open or closed overrides the schedule (IVR_HOURS_OVERRIDE wins over this).", choices=FORCE_VALUES, default="auto"),
        Nested("reasons", REASONS.doc, section=REASONS),
    ),
)

DEFAULTS = Section(
    "'defaults'",
    "Defaults",
    "Retry settings every menu and input node inherits unless it sets its own.",
    (
        Count("max_invalid", "Wrong entries before on_max_failures.", low=1, high=10, default=3),
        Count("max_no_input", "Silences before on_max_failures.", low=1, high=10, default=3),
        Count("timeout", "Seconds to wait for the caller.", low=1, high=60, default=5),
        Localised("invalid", "Said after a wrong entry.", required=True),
        Localised("no_input", "Said after a silence.", required=True),
        Target("on_max_failures", "Node after too many wrong entries or silences.", required=True, back=False),
        Target("on_transfer_failure", "Node when a transfer fails.", required=True, back=False),
        Choice(
            "speech", "Whether menu and input nodes also take speech (`on`) or keys only (`off`).", choices=("on", "off"), default="off"
        ),
        Count(
            "min_confidence",
            "The recogniser's confidence, in percent, below which a result counts as not understood (Twilio's Confidence × 100).",
            low=0,
            high=100,
            default=40,
        ),
        Localised("not_understood", "Said after speech that matched no option (or too unsure a result); counts as a wrong entry."),
        Localised("which", "Asks which option a caller meant who named several: {choices} are their phrases."),
    ),
)

LOOP_LIMIT = Section(
    "'loop_limit'",
    "Loop limit",
    "Ends calls that go round in circles.",
    (
        Count("max_steps", "Caller entries before the call is sent to goto.", low=5, high=1000, default=50),
        Target("goto", "Node for a runaway call; must lead straight to a hangup.", required=True, back=False),
    ),
)

TICKETS = Section(
    "'tickets'",
    "Tickets",
    "How tickets are promised, and told to the caller by text message.",
    (
        Count("first_response_minutes", "Promised first response (default: scope tickets channel, else 10).", low=1, high=10080),
        Localised(
            "sms",
            "The text message with the ticket number ({ticket}) and how to follow it up online, sent to a caller on a mobile "
            "(China's +861[3-9]…, and sms_prefixes) when IVR_SMS_FROM is set; without it no text is sent.",
        ),
        Localised("sms_said", "What the caller hears, right after the ticket is made, when that text message goes to them."),
        Words(
            "sms_prefixes",
            "More E.164 prefixes of mobile numbers a text may go to, besides China's mobiles, e.g. ['+447'].",
            pattern=r"^\+[1-9][0-9]{0,6}$",
            pattern_doc="'+' and the first digits of an E.164 number, e.g. '+447'",
            unique=True,
        ),
    ),
)

_BUDGETS = Budgets()  # the defaults live with the IR, which a menu without `budgets` gets
BUDGETS = Section(
    "'budgets'",
    "Budgets",
    "What callers may be made to sit through; `ivr menu check` warns about each breach, per language (an error under --strict).",
    (
        Count(
            "greeting_seconds",
            "Seconds of prompts from the start up to the first node that waits for the caller (its own prompt not counted).",
            low=1,
            high=120,
            default=_BUDGETS.greeting_seconds,
        ),
        Count("prompt_seconds", "Seconds any one text of a node may take.", low=1, high=600, default=_BUDGETS.prompt_seconds),
        Count(
            "destination_seconds",
            "Seconds of prompts heard before each transfer, ticket and announcement, in hours and after (as `ivr menu report`).",
            low=1,
            high=600,
            default=_BUDGETS.destination_seconds,
        ),
        Count("max_options", "Keys one menu may offer (the language key not counted).", low=1, high=12, default=_BUDGETS.max_options),
        Count(
            "person_within_menus",
            "Menus a caller goes through, at most, from the start to a transfer while the line is open.",
            low=1,
            high=20,
            default=_BUDGETS.person_within_menus,
        ),
    ),
)

QUEUE = Section(
    "queue 'NAME'",
    "Queue",
    "A team callers can be transferred to.",
    (
        Word(
            "address",
            "Where the call is transferred: a number, sip:… or client:… (IVR_QUEUE_<NAME> wins over this).",
            default="",
            pattern=ADDRESS,
            pattern_doc=ADDRESS_DOC,
        ),
        Word("description", "What the queue is for.", default=""),
    ),
)

VOICE = Section(
    "voice for 'LANG'",
    "Voice",
    "The carrier's text-to-speech voice for one language.",
    (
        Word("voice", "Voice name of the telephony provider.", required=True),
        Word("language", "Language code the provider expects.", required=True),
        Word("render", "espeak-ng voice `ivr audio build` renders this language with (default: espeak-ng's voice for it)."),
        Word("recognize", "Language code of the carrier's speech recogniser, <Gather language> (default: language)."),
        Choice(
            "source",
            "Where callers hear this language from: the carrier's voice (say), or audio/ (recordings, else rendered) "
            "when every piece is built; never both in one call.",
            choices=("say", "audio"),
            default="say",
        ),
    ),
)

SETTINGS = Section(
    "the menu settings",
    "Menu settings",
    "Languages, start node, hours, defaults and queues.",
    (
        Word("id", "Menu id, shown in logs and reports.", required=True),
        Words(
            "languages",
            "Every prompt gives each of these, e.g. [zh-CN, en-US]; a call starts in the first.",
            required=True,
            pattern=LANGUAGE_TAG,
            unique=True,
            min_items=1,
        ),
        Word(
            "default_language",
            "One of languages (default: the first).",
            pattern=LANGUAGE_TAG,
            pattern_doc="a language tag like 'zh-CN' or 'en-US'",
        ),
        Target("start", "Node every call starts at.", required=True, back=False),
        Word(
            "language_key",
            "Key that switches to the next language and says the menu again, in every menu of a menu with several "
            "languages ('' for none); a menu that maps this key itself keeps its own meaning (lint warns).",
            default="9",
            pattern=r"^[0-9]?$",
            pattern_doc="one digit, or '' for none",
        ),
        Word("scope", "Folder of scope data, relative to this file."),
        MapOf("data", "Named data files for actions (name → path relative to this file).", key_doc="NAME", value=Word("path", "A file.")),
        Nested("hours", HOURS.doc, required=True, section=HOURS),
        Nested("defaults", DEFAULTS.doc, required=True, section=DEFAULTS),
        Nested("loop_limit", LOOP_LIMIT.doc, required=True, section=LOOP_LIMIT),
        Target("on_error", "Node a call goes to when something inside fails.", required=True, back=False),
        Localised("apology", "Said if even on_error cannot be reached, before a transfer.", required=True),
        Localised("fallback_prompt", "Prompt for a message when the service cannot continue."),
        Localised("fallback_ticket", "Said after that message's ticket is created."),
        Word("fallback_queue", "Queue a call goes to when all else fails.", required=True, ref="queue"),
        MapOf("queues", "Queue name → where transfers to it go.", required=True, key_doc="NAME", value=QUEUE),
        Nested("tickets", TICKETS.doc, section=TICKETS),
        Nested("budgets", BUDGETS.doc, section=BUDGETS),
        MapOf("voices", "Text-to-speech voice per language, for telephony.", key_pattern=LANGUAGE_TAG, key_doc="LANG", value=VOICE),
    ),
)

MENU_FILE = Section("the menu file", "Hotline IVR menu", "A phone menu: settings under `menu:`, nodes under `nodes:`.", (
    Nested("menu", SETTINGS.doc, required=True, section=SETTINGS),
    MapOf("nodes", "Node name → node.", required=True, key_doc="NAME"),
))  # fmt: skip
