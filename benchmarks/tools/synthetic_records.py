"""Make a large records file by duplicating real records under new seeds, to measure the report.

The report must stay within memory and time on 10^5 records (issue 30). Real studies that large
are expensive to run, so this tool copies a real records file ``copies`` times: copy ``c`` of a
record keeps everything it measured and moves it to seed ``seed + c * span`` (``span``: one more
than the largest seed in the source), with its key recomputed by ``cell_key`` for that seed. So
every copy is a cell of its own (the reader keeps it: no key repeats), the copies of one cell
stay one group with ``copies`` times the seeds, and seeds still pair across solvers as in the
source. The records are streamed line by line, never held all at once.

Example:
    python benchmarks/tools/synthetic_records.py results/reference/raw/default.jsonl \\
        --records 200000 --out /tmp/big/raw/default.jsonl
    python benchmarks/run_all.py --report-only --out /tmp/big
"""

from __future__ import annotations

import argparse
import itertools
import json
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

if __package__ in (None, ""):  # run as a script: make the repository root importable
    sys.path.insert(0, str(Path(__file__).resolve().parents[2]))

from benchmarks.records import cell_key


def _source(path: Path, take: int | None) -> Iterator[dict[str, Any]]:
    with path.open("rb") as f:
        lines = (line for line in f if line.strip())
        for line in itertools.islice(lines, take):
            yield json.loads(line)


def synthetic_lines(source: Path, records: int, *, take: int | None = None) -> Iterator[str]:
    """``records`` JSON lines: the source's records, then copies of them under new seeds.

    Copy 0 is the source itself (its keys unchanged); the last copy may stop part way through.
    ``take``: copy only the source's first ``take`` records (a small set of many copies).
    """
    span = 1 + max((int(d["seed"]) for d in _source(source, take)), default=0)
    made = 0
    copy = 0
    while made < records:
        before = made
        for data in _source(source, take):
            if made == records:
                break
            if copy:
                data["seed"] = int(data["seed"]) + copy * span
                data["key"] = cell_key(
                    task=data["task"], task_options=data["task_options"],
                    solver=data["solver"], config=data["config"], budget=data["budget"],
                    seed=data["seed"], version=data.get("version", ""),
                    arm=data.get("arm", "defaults"), trial=data.get("trial"))
            yield json.dumps(data, allow_nan=True)
            made += 1
        if made == before:
            raise ValueError(f"{source} holds no records to copy")
        copy += 1


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("source", type=Path, help="a records file (JSON lines) to copy")
    parser.add_argument("--records", type=int, required=True, help="how many records to write")
    parser.add_argument("--out", type=Path, required=True, help="the records file to write")
    parser.add_argument("--take", type=int, default=None,
                        help="copy only the source's first TAKE records")
    args = parser.parse_args(argv)
    if args.records < 1:
        parser.error(f"--records must be a positive int; got {args.records}")
    if args.take is not None and args.take < 1:
        parser.error(f"--take must be a positive int; got {args.take}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    with args.out.open("w", encoding="utf-8") as f:
        for line in synthetic_lines(args.source, args.records, take=args.take):
            f.write(line + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
