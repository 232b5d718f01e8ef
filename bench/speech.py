"""Benchmark: how well speech is matched, on the labelled utterances of tests/speech/, through the real engine.

Each utterance is said at its node of the shipped menu; the figures per language are the share of
in-scope utterances taken where the caller meant, the share answered by a question between options,
and the share of out-of-scope utterances taken to an option all the same (false accepts).

    .venv/bin/python bench/speech.py [--misses]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ivr.config import Settings  # noqa: E402
from ivr.engine.events import Entry, Speech  # noqa: E402
from ivr.qa.runner import qa_hotline  # noqa: E402
from ivr.qa.utterances import AT, at_node, evaluate, load_corpus  # noqa: E402

CORPUS = ROOT / "tests" / "speech"
MENU = ROOT / "menus" / "volcengine.yaml"


def main() -> int:
    """Print the figures per language (and, with --misses, every utterance taken wrongly)."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--misses", action="store_true", help="list the utterances matched wrongly")
    args = parser.parse_args()
    hotline = qa_hotline(MENU, Settings())  # tickets (a caller asking for a call back) go to an in-memory database
    engine = hotline.engine
    heading = f"{'corpus':<19}  {'in scope':>8}  {'correct':>7}  {'asked':>6}  {'wrong':>6}  {'out':>4}"
    print(f"{heading}  {'false accepts':>13}  {'µs/utterance':>12}")
    # tests/speech/*.yaml were used to tune the shipped phrases; tests/speech/heldout/ never was (written blind).
    for path in [*sorted(CORPUS.glob("*.yaml")), *sorted((CORPUS / "heldout").glob("*.yaml"))]:
        started = time.perf_counter()
        f = evaluate(engine, path)
        per = (time.perf_counter() - started) / max(1, f.in_scope + f.out_of_scope) * 1e6
        name = f.lang + (" (held out)" if path.parent.name == "heldout" else "")
        print(
            f"{name:<19}  {f.in_scope:>8}  {f.accuracy:>7.1%}  {f.asked_share:>6.1%}  {f.wrong / max(1, f.in_scope):>6.1%}  "
            f"{f.out_of_scope:>4}  {f.false_accept_rate:>13.1%}  {per:>12.0f}"
        )
        if args.misses:
            for miss in f.misses:
                print(f"    {miss}")
    # The baseline, in the same run: the same nodes answered by a key instead of words (interleaved, best of 5).
    utterances = [(lang, u) for path in sorted(CORPUS.glob("*.yaml")) for lang, us in [load_corpus(path)] for u in us]
    said, pressed = [], []
    for _ in range(5):
        for timings, entry in ((said, None), (pressed, Entry("1"))):
            started = time.perf_counter()
            for lang, u in utterances:
                engine.handle(at_node(engine, u.node, lang), entry or Speech(u.say), AT)
            timings.append((time.perf_counter() - started) / len(utterances) * 1e6)
    print(f"engine step with speech: {min(said):.0f} µs; with a key press: {min(pressed):.0f} µs; ratio {min(said) / min(pressed):.1f}×")
    hotline.close()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
