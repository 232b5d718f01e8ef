"""Fit the prompt-length estimate (ivr/effort.py RATES) to rendered audio, and measure how far it is from it.

    python scripts/calibrate_estimates.py --audio DIR [--audio DIR2 …]

reads each DIR/manifest.json (entries {lang, text, duration}, as `ivr audio build` writes), leaves out entries under
1.5 s (single digits and short pieces, where the silence around the words is most of the file), and fits, by least
squares per language,

    seconds = cjk·CJK characters + latin·Latin letters + digit·digits + pause·pauses + base

with the features `ivr.effort.features` counts. It prints the table to paste into RATES (with each row's mean and
largest relative error on the entries it was fitted on; "" is every language together, the fallback) and, for
comparison, the error of the table ivr/effort.py has now.
"""

from __future__ import annotations

import argparse
import sys
from collections import defaultdict
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from ivr.audio.manifest import AudioManifest  # noqa: E402  (the project root is put on the path first)
from ivr.effort import RATES, Rate, features, rate  # noqa: E402

SHORTEST = 1.5  # seconds: shorter entries are single digits
NAMES = ("cjk", "latin", "digit", "pause", "base")

Sample = tuple[tuple[float, ...], float, str]  # (features and 1, seconds, text)


def samples(folders: list[Path]) -> dict[str, list[Sample]]:
    """Rendered entries of at least SHORTEST seconds, by primary language, each (lang, text) once."""
    out: dict[str, list[Sample]] = defaultdict(list)
    seen: set[tuple[str, str]] = set()
    for folder in folders:
        for entry in AudioManifest.load(folder):
            if entry.duration < SHORTEST or (entry.lang, entry.text) in seen:
                continue
            seen.add((entry.lang, entry.text))
            out[entry.lang.split("-", 1)[0].lower()].append(((*map(float, features(entry.text)), 1.0), entry.duration, entry.text))
    return out


def fit(rows: list[Sample]) -> tuple[float, ...]:
    """Least-squares coefficients (normal equations); a feature no row has gets 0."""
    width = len(rows[0][0])
    used = [j for j in range(width) if any(x[j] for x, _, _ in rows)]
    a = [[sum(x[i] * x[j] for x, _, _ in rows) for j in used] for i in used]
    b = [sum(x[i] * y for x, y, _ in rows) for i in used]
    solved = _solve(a, b)
    coefficients = [0.0] * width
    for j, value in zip(used, solved, strict=True):
        coefficients[j] = value
    return tuple(coefficients)


def _solve(a: list[list[float]], b: list[float]) -> list[float]:
    """Gauss-Jordan elimination with partial pivoting (a few unknowns: no numpy needed)."""
    n = len(b)
    m = [[*row, b[i]] for i, row in enumerate(a)]
    for col in range(n):
        pivot = max(range(col, n), key=lambda r: abs(m[r][col]))
        m[col], m[pivot] = m[pivot], m[col]
        if abs(m[col][col]) < 1e-12:
            continue  # a feature that is a sum of others: leave it at 0
        for r in range(n):
            if r != col:
                factor = m[r][col] / m[col][col]
                m[r] = [x - factor * y for x, y in zip(m[r], m[col], strict=True)]
    return [m[i][n] / m[i][i] if abs(m[i][i]) >= 1e-12 else 0.0 for i in range(n)]


def errors(coefficients: tuple[float, ...], rows: list[Sample]) -> list[tuple[float, Sample]]:
    """Relative error (estimate - rendered) / rendered of each row, largest first."""
    found = [((sum(c * x for c, x in zip(coefficients, row[0], strict=True)) - row[1]) / row[1], row) for row in rows]
    return sorted(found, key=lambda e: -abs(e[0]))


def _coefficients(r: Rate) -> tuple[float, ...]:
    return (r.cjk, r.latin, r.digit, r.pause, r.base)


def main(argv: list[str] | None = None) -> int:
    """Fit and print the table; exit 2 when no folder has a manifest with usable entries."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0])
    parser.add_argument("--audio", action="append", required=True, metavar="DIR", help="a rendered audio folder (repeatable)")
    parser.add_argument("--worst", type=int, default=3, metavar="N", help="list the N worst-estimated entries per language")
    args = parser.parse_args(argv)
    folders = [Path(d) for d in args.audio]
    missing = [str(f) for f in folders if not (f / "manifest.json").is_file()]
    if missing:
        print(f"no manifest.json in {', '.join(missing)} (build one with `ivr audio build --menu MENU --out DIR`)", file=sys.stderr)
        return 2
    by_lang = samples(folders)
    if not by_lang:
        print(f"no entries of {SHORTEST} s or more", file=sys.stderr)
        return 2
    groups = {**by_lang, "": [row for rows in by_lang.values() for row in rows]}
    print("RATES: Mapping[str, Rate] = {")
    report = []
    for lang, rows in groups.items():
        coefficients = fit(rows)
        found = errors(coefficients, rows)
        mean = sum(abs(e) for e, _ in found) / len(found)
        worst = abs(found[0][0])
        fields = ", ".join(f"{name}={value:.3f}" for name, value in zip(NAMES, coefficients, strict=True))
        print(f"    {lang!r}: Rate({fields}, mean_error={mean:.3f}, max_error={worst:.3f}),  # {len(rows)} prompts")
        now = errors(_coefficients(RATES[lang] if lang in RATES else rate(lang)), rows)
        now_mean = sum(abs(e) for e, _ in now) / len(now)
        report.append(f"{lang or 'all'}: {len(rows)} prompts; fitted: mean {mean:.1%}, max {worst:.1%}; "
                      f"table now: mean {now_mean:.1%}, max {abs(now[0][0]):.1%}")  # fmt: skip
        report += [f"    {e:+.1%}  {row[1]:5.2f} s  {row[2][:70]}" for e, row in found[: args.worst]]
    print("}")
    print("\n".join(report))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
