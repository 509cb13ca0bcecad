"""Copy the generated tables of this folder into docs/cldtrans.md, so that no number there is typed.

    python results/examples/cldtrans_eval_cpu/sync_docs.py [--check]

Every docs paragraph headed ``**...** (`report.md`, section `NAME`...):`` gets the table of section ``NAME`` of
``report.md`` (for a few-shot heading naming CHB-MIT or PTB-XL, only that dataset's rows); the one headed
``**Identifiability** (`identifiability.md`):`` gets that file's text after its title. ``--check`` exits 1 when
the docs differ from the files instead of writing.
"""

from __future__ import annotations

import argparse
import re
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent
DOCS = HERE.parents[2] / "docs" / "cldtrans.md"
HEAD = re.compile(r"^\*\*(?P<title>[^*]+)\*\* \(`(?P<file>[\w.]+)`(?:, section `(?P<section>\w+)`)?[^)]*\):$")
DATASET = {"CHB-MIT": "| chbmit-", "PTB-XL": "| ptbxl-"}


def sections(report: str) -> dict[str, list[str]]:
    """``## name`` -> the table lines under it."""
    out: dict[str, list[str]] = {}
    name = None
    for line in report.splitlines():
        if line.startswith("## "):
            name = line[3:].strip()
            out[name] = []
        elif name and line.startswith("|"):
            out[name].append(line)
    return out


def block_for(m: re.Match) -> list[str]:
    text = (HERE / m["file"]).read_text()
    if not m["section"]:  # a whole generated file, without its title line
        body = text.splitlines()
        return body[1:] if body and body[0].startswith("#") else body
    table = sections(text)[m["section"]]
    keep = next((tag for name, tag in DATASET.items() if name in m["title"]), None)
    if keep:
        table = table[:2] + [row for row in table[2:] if keep in row]
    return table


def sync(doc: str) -> str:
    lines, out, i = doc.splitlines(), [], 0
    while i < len(lines):
        out.append(lines[i])
        m = HEAD.match(lines[i])
        i += 1
        if not m:
            continue
        # the generated block runs from the blank line after the heading to the next heading or section
        j = i
        while j < len(lines) and not HEAD.match(lines[j]) and not lines[j].startswith("#"):
            j += 1
        out += ["", *block_for(m), ""]
        while out[-1] == "" and out[-2] == "":
            out.pop()
        i = j
    return "\n".join(out) + "\n"


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--check", action="store_true")
    args = ap.parse_args()
    doc = DOCS.read_text()
    new = sync(doc)
    if args.check:
        if new != doc:
            print(f"{DOCS} differs from the generated files in {HERE}", file=sys.stderr)
            return 1
        return 0
    DOCS.write_text(new)
    return 0


if __name__ == "__main__":
    sys.exit(main())
