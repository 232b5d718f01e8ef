"""The scope data files (scope/*.yaml) say exactly what the seed document says.

The seed copy scope/source/support-scope.zh.txt is parsed here; nothing the seed states is
hard-coded, so editing a row, bullet or paragraph on either side makes a test fail. The spoken
texts keep the seed's words; only punctuation, spacing and the seed's pointers to its own
sections may differ (`words()` sets those aside), because they are written for the ear.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import pytest
import yaml

ROOT = Path(__file__).parent.parent
SCOPE = ROOT / "scope"
SEED = SCOPE / "source" / "support-scope.zh.txt"
SHARED_SEED = ROOT.parent / "shared" / "seed" / "support-scope.zh.txt"
FILES = ("channels.yaml", "coverage.yaml", "third_party.yaml")

LOCALES = frozenset({"zh-CN", "en-US"})
COVERAGE_ITEM_KEYS = frozenset({"id", "see"})  # coverage items carry these beside the texts

# Structural anchors of the seed: the two headings that open the coverage bullet lists.
IN_HEADING = "火山引擎支持的服务范围包含:"
OUT_HEADING = "火山引擎支持的服务范围不包含:"
TABLE_RULE = re.compile(r"^-{3,}(\|-{3,})*\|?$")  # the "---|---|---|" line under a header

# Keys whose value is one localised text, and keys whose value is a list of them.
TEXT_KEYS = frozenset(
    {
        "name",
        "how_to_reach",
        "response",
        "handling",
        "no_sign_in",
        "fastest",
        "experts",
        "archive",
        "delivery",
        "description",
        "project_customers",
        "closing",
        "note",
        "title",
        "in_scope_heading",
        "out_of_scope_heading",
    }
)
TEXT_LIST_KEYS = frozenset(
    {
        "best_for",
        "topics",
        "delivery_methods",
        "platforms",
        "contacts",
        "paragraphs",
        "supported",
        "unsupported",
        "terms",
    }
)
# The only values written unquoted, and what they may look like.
UNQUOTED = {"first_response_minutes": re.compile(r"\d+"), "archived": re.compile(r"true|false")}
PUNCTUATION = re.compile(r"[\s,，。;；:：、!！?？()（）“”\"'/\-—]")
DOCUMENT_POINTER = re.compile(r"[(（]详见[^)）]*[)）]")
CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef\u201c\u201d]")


def words(text: str) -> str:
    """A text's words: punctuation, spaces and the document's pointers to its own sections set aside."""
    return PUNCTUATION.sub("", DOCUMENT_POINTER.sub("", text))


@dataclass(frozen=True)
class Seed:
    """The parts of the seed document the scope files are built from."""

    intro: list[str]
    in_scope: list[str]
    out_of_scope: list[str]
    channel_paragraphs: list[str]
    channel_rows: list[tuple[str, ...]]
    between_tables: list[str]
    third_party_rows: list[tuple[str, ...]]


def _cells(line: str) -> list[str]:
    """Split a pipe-table line into trimmed cells, dropping the empty trailing ones."""
    cells = [cell.strip() for cell in line.split("|")]
    while cells and not cells[-1]:
        cells.pop()
    return cells


def _table(lines: list[str], start: int) -> tuple[list[str], list[list[str]], int]:
    """Read the pipe table whose header is lines[start]: header, rows, index after it."""
    assert "|" in lines[start], f"line {start + 1} is not a table header"
    assert TABLE_RULE.match(lines[start + 1]), f"line {start + 2} is not a table rule"
    end = start + 2
    while end < len(lines) and "|" in lines[end]:
        end += 1
    return _cells(lines[start]), [_cells(line) for line in lines[start + 2 : end]], end


def _is_bullet(line: str) -> bool:
    """Bullets are single clauses: unlike every prose paragraph they hold no ',' and no '|'."""
    return "," not in line and "|" not in line


@cache
def seed() -> Seed:
    """Parse the seed copy into its parts."""
    lines = SEED.read_text(encoding="utf-8").splitlines()
    i_in, i_out = lines.index(IN_HEADING), lines.index(OUT_HEADING)
    assert i_in < i_out
    end_out = i_out + 1
    while end_out < len(lines) and _is_bullet(lines[end_out]):
        end_out += 1
    first_table = next(i for i in range(end_out, len(lines)) if "|" in lines[i])
    header, channel_rows, after_first = _table(lines, first_table)
    assert all(len(row) == len(header) for row in channel_rows), channel_rows
    second_table = next(i for i in range(after_first, len(lines)) if "|" in lines[i])
    header2, raw_rows, after_second = _table(lines, second_table)
    assert after_second == len(lines), "text after the third-party table"
    # Rows after the first of a category leave out the category cell: carry it forward.
    third_party_rows: list[tuple[str, ...]] = []
    category = None
    for row in raw_rows:
        if len(row) == len(header2):
            category = row[0]
            third_party_rows.append(tuple(row))
        else:
            assert len(row) == len(header2) - 1 and category, f"unexpected row {row}"
            third_party_rows.append((category, *row))
    return Seed(
        intro=lines[:i_in],
        in_scope=lines[i_in + 1 : i_out],
        out_of_scope=lines[i_out + 1 : end_out],
        channel_paragraphs=lines[end_out:first_table],
        channel_rows=[tuple(row) for row in channel_rows],
        between_tables=lines[after_first:second_table],
        third_party_rows=third_party_rows,
    )


@cache
def load(name: str) -> Any:
    """One scope file, every scalar kept as a string."""
    return yaml.load((SCOPE / name).read_text(encoding="utf-8"), Loader=yaml.BaseLoader)


def walk(node: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[tuple[str, ...], Any]]:
    """Every value in a loaded document with the keys (list indexes as '[i]') leading to it."""
    yield path, node
    if isinstance(node, dict):
        for key, value in node.items():
            yield from walk(value, (*path, key))
    elif isinstance(node, list):
        for i, value in enumerate(node):
            yield from walk(value, (*path, f"[{i}]"))


def localised() -> Iterator[tuple[str, tuple[str, ...], dict[str, Any]]]:
    """Every mapping in the three files that holds a zh-CN or en-US key."""
    for name in FILES:
        for path, node in walk(load(name)):
            if isinstance(node, dict) and LOCALES & node.keys():
                yield name, path, node


def channel_row(channel_id: str) -> dict[str, str] | None:
    """The response-table entry for a channel, if it has one."""
    rows = [r for r in load("channels.yaml")["response_table"] if r["channel_id"] == channel_id]
    assert len(rows) <= 1, f"{channel_id} has several response-table rows"
    return rows[0] if rows else None


def test_seed_copy_matches_shared_seed() -> None:
    """The seed copy in the repo is byte-identical to the shared seed next to the repo."""
    if not SHARED_SEED.exists():
        pytest.skip(f"no shared seed at {SHARED_SEED} to compare the repo copy with")
    assert SEED.read_bytes() == SHARED_SEED.read_bytes()


def test_seed_has_the_expected_shape() -> None:
    """The parser finds every part of the seed: the lists, paragraphs and both tables."""
    s = seed()
    assert len(s.intro) == 2
    assert len(s.in_scope) == 5
    assert len(s.out_of_scope) == 5
    assert len(s.channel_paragraphs) == 5
    assert len(s.channel_rows) == 2
    assert len(s.between_tables) == 4
    assert len(s.third_party_rows) == 8
    assert len({row[0] for row in s.third_party_rows}) == 2


def test_in_scope_items_are_the_seed_bullets() -> None:
    """Each bullet under the 'covers' heading is one in_scope item, verbatim and in order."""
    coverage = load("coverage.yaml")
    assert [words(item["zh-CN"]) for item in coverage["in_scope"]] == [words(b) for b in seed().in_scope]
    assert words(coverage["in_scope_heading"]["zh-CN"]) == words(IN_HEADING)


def test_out_of_scope_items_are_the_seed_bullets() -> None:
    """Each bullet under the 'does not cover' heading is one out_of_scope item, verbatim."""
    coverage = load("coverage.yaml")
    assert [words(item["zh-CN"]) for item in coverage["out_of_scope"]] == [words(b) for b in seed().out_of_scope]
    assert words(coverage["out_of_scope_heading"]["zh-CN"]) == words(OUT_HEADING)


def test_cross_references_point_at_scope_files() -> None:
    """A seed bullet that says '(详见...)' is an item with a `see` naming an existing scope file (and no pointer said)."""
    coverage = load("coverage.yaml")
    items = coverage["in_scope"] + coverage["out_of_scope"]
    bullets = seed().in_scope + seed().out_of_scope
    referring = [item for item, bullet in zip(items, bullets, strict=True) if "(详见" in bullet]
    assert referring, "the seed refers to its third-party section; some item should too"
    assert all("see" in item and "详见" not in item["zh-CN"] for item in referring)
    for item in items:
        if "see" in item:
            assert (SCOPE / f"{item['see']}.yaml").is_file(), item["see"]


def test_response_table_is_the_seed_table() -> None:
    """Every row of the seed's channel table is one response_table entry, cells verbatim."""
    rows = load("channels.yaml")["response_table"]
    assert [(r["channel"], r["hours"], r["response"]) for r in rows] == seed().channel_rows
    assert all(set(r) == {"channel", "hours", "response", "channel_id"} for r in rows)


def test_response_table_rows_agree_with_their_channels() -> None:
    """A row's channel has the row's availability, hours and first response in minutes."""
    channels = load("channels.yaml")["channels"]
    rows = load("channels.yaml")["response_table"]
    assert len({r["channel_id"] for r in rows}) == len(rows)
    for row in rows:
        channel = channels[row["channel_id"]]
        availability = re.match(r"7x(12|24)\b", row["hours"])
        minutes = re.fullmatch(r"(\d+)min", row["response"])
        assert availability and minutes, row
        assert channel["availability"] == availability.group()
        assert int(channel["first_response_minutes"]) == int(minutes.group(1))
        assert "response" not in channel, "the table's '10min' is written for reading: callers hear the minutes in words"


def test_channel_descriptions_are_the_seed_paragraphs() -> None:
    """Each channel paragraph of the seed is exactly one channel's zh-CN description."""
    channels = load("channels.yaml")["channels"]
    descriptions = [channel["description"]["zh-CN"] for channel in channels.values()]
    assert Counter(descriptions) == Counter(seed().channel_paragraphs)


def test_channel_details_quote_the_seed() -> None:
    """Every zh-CN detail of a channel is the words of its paragraph or its table row."""
    for channel_id, channel in load("channels.yaml")["channels"].items():
        row = channel_row(channel_id)
        sources = [words(t) for t in (channel["description"]["zh-CN"], *(row.values() if row else ()))]
        for key, value in channel.items():
            if key in ("description", "platforms"):
                continue
            texts = value if isinstance(value, list) else [value]
            for text in texts:
                if isinstance(text, dict):
                    assert any(words(text["zh-CN"]) in s for s in sources), (channel_id, key, text)
        if "platforms" in channel:
            assert row, f"{channel_id} lists platforms but has no table row"
            assert "/".join(p["zh-CN"] for p in channel["platforms"]) == row["channel"]


def test_channel_hours_are_consistent() -> None:
    """Availability and daily hours of each channel say what its paragraph says (callers hear them from daily_hours)."""
    for channel_id, channel in load("channels.yaml")["channels"].items():
        assert "hours" not in channel, f"{channel_id}: hours are spoken from daily_hours, never typed"
        timed = {"availability", "timezone", "daily_hours"} & channel.keys()
        if not timed:
            assert "first_response_minutes" not in channel, channel_id
            continue
        assert len(timed) == 3, f"{channel_id} states only {sorted(timed)}"
        assert channel["timezone"] == "Asia/Shanghai"
        row = channel_row(channel_id)
        paragraph = channel["description"]["zh-CN"] + (row["hours"] if row else "")
        assert f"{channel['availability']} 小时" in paragraph
        if channel["availability"] == "7x24":
            assert channel["daily_hours"] == "00:00-24:00"
        else:
            assert channel["availability"] == "7x12"
            assert f"北京时间 {channel['daily_hours']}" in paragraph
        if "first_response_minutes" in channel:
            assert channel_row(channel_id), f"{channel_id} has minutes the seed does not give"


def test_intro_and_notes_are_the_seed_paragraphs() -> None:
    """The intro, project-customer note, third-party note, closing and catalogue title are verbatim."""
    channels, third_party = load("channels.yaml"), load("third_party.yaml")
    s = seed()
    assert [p["zh-CN"] for p in channels["intro"]["paragraphs"]] == s.intro
    project_note, third_party_note, closing, title = s.between_tables
    assert words(channels["project_customers"]["zh-CN"]) in words(project_note)
    assert third_party["note"]["zh-CN"] == third_party_note
    assert channels["closing"]["zh-CN"] == closing
    assert third_party["title"]["zh-CN"] == title


def test_third_party_catalogue_is_the_seed_table() -> None:
    """Each row of the third-party table, category carried forward, is one catalogue entry."""
    entries = [
        (cat["name"]["zh-CN"], sw["name"]["zh-CN"], _examples(sw["supported"]), _examples(sw["unsupported"]))
        for cat in load("third_party.yaml")["categories"]
        for sw in cat["software"]
    ]
    assert entries == [(c, n, words(ok), words(not_ok)) for c, n, ok, not_ok in seed().third_party_rows]


def _examples(value: Any) -> str:
    """The words of one example question, or of several in a list, run together as the seed's cell has them."""
    return "".join(words(e["zh-CN"]) for e in (value if isinstance(value, list) else [value]))


def test_third_party_terms_are_the_seed_note() -> None:
    """Every clause of the spoken terms is the words of a clause of the seed's note (its pointer "以下" aside)."""
    note = words(load("third_party.yaml")["note"]["zh-CN"]).replace("以下", "")  # "the following": the document's layout
    for term in load("third_party.yaml")["terms"]:
        for clause in re.split(r"[，。]", term["zh-CN"]):
            assert words(clause) in note, clause


def test_localised_texts_have_both_languages() -> None:
    """Every localised mapping has exactly zh-CN and en-US, both non-empty trimmed strings."""
    found = 0
    for name, path, node in localised():
        found += 1
        where = f"{name}: {'.'.join(path)}"
        extra = node.keys() - LOCALES
        is_coverage_item = (name, path[0]) in (
            ("coverage.yaml", "in_scope"),
            ("coverage.yaml", "out_of_scope"),
            ("third_party.yaml", "terms"),
        )
        assert node.keys() >= LOCALES, where
        assert extra <= (COVERAGE_ITEM_KEYS if is_coverage_item else set()), where
        for lang in LOCALES:
            text = node[lang]
            assert isinstance(text, str) and text and text == text.strip(), (where, lang)
    assert found > 0


def test_text_keys_hold_localised_texts() -> None:
    """Every text-bearing key holds a localised mapping (or a list of them) everywhere."""
    for name in FILES:
        for path, node in walk(load(name)):
            if not path or path[0] == "response_table":
                continue
            where = f"{name}: {'.'.join(path)}"
            if path[-1] in TEXT_KEYS:
                assert isinstance(node, dict) and node.keys() == LOCALES, where
            if path[-1] in TEXT_LIST_KEYS:
                assert isinstance(node, list) and node, where
                assert all(isinstance(n, dict) and n.keys() - {"id"} == LOCALES for n in node), where


def test_english_is_speakable() -> None:
    """English texts hold no Chinese, table pipes, slashes or '7x12'-style shorthand."""
    for name, path, node in localised():
        text = node["en-US"]
        where = f"{name}: {'.'.join(path)}: {text}"
        assert not CJK.search(text), where
        assert not re.search(r"[|/×—]|\b7x(12|24)\b|\d+min\b", text), where


def test_phone_digits_survive_translation() -> None:
    """The digits callers must dial are the same in both languages of how_to_reach."""
    for channel in load("channels.yaml")["channels"].values():
        reach = channel["how_to_reach"]
        assert re.sub(r"\D", "", reach["zh-CN"]) == re.sub(r"\D", "", reach["en-US"])


def test_ids_are_unique_snake_case() -> None:
    """Channel keys and every `id` across the three files are unique snake_case names."""
    ids = list(load("channels.yaml")["channels"])
    for name in FILES:
        ids += [node["id"] for _, node in walk(load(name)) if isinstance(node, dict) and "id" in node]
    assert all(re.fullmatch(r"[a-z][a-z0-9]*(_[a-z0-9]+)*", i) for i in ids), ids
    assert len(ids) == len(set(ids)), [i for i, n in Counter(ids).items() if n > 1]


def _nodes(node: yaml.Node, key: str = "") -> Iterator[tuple[str, yaml.Node]]:
    """Every composed node with the mapping key it sits under ('' for list items and the root)."""
    yield key, node
    if isinstance(node, yaml.MappingNode):
        for k, v in node.value:
            yield from _nodes(v, k.value)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            yield from _nodes(item)


@pytest.mark.parametrize("name", FILES)
def test_yaml_is_written_plainly(name: str) -> None:
    """No mapping repeats a key, and every value is double-quoted except the typed ones."""
    root = yaml.compose((SCOPE / name).read_text(encoding="utf-8"), Loader=yaml.BaseLoader)
    assert root is not None
    for key, node in _nodes(root):
        if isinstance(node, yaml.MappingNode):
            keys = [k.value for k, _ in node.value]
            assert len(keys) == len(set(keys)), f"{name}: duplicate key under {key!r}"
        elif isinstance(node, yaml.ScalarNode):
            if key in UNQUOTED:
                assert node.style is None and UNQUOTED[key].fullmatch(node.value), (key, node)
            else:
                assert node.style == '"', f"{name}: {key}: {node.value!r} is not double-quoted"
