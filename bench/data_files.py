"""Peak memory per row of a data file that `evalspec validate` reads through file://.

Bytes do not bound memory: a CSV row of 4 bytes becomes a dict of a few hundred bytes. This
prints, for tiny rows (one short column) and realistic rows (~1 KB over five columns), in CSV
and JSONL, the peak RSS of `evalspec validate` over that of `evalspec --version` (start-up and
imports, the baseline, measured in the same run), divided by the rows. The per-file row and
value limits (evalspec/spec/fileref.py: MAX_DATA_ROWS, MAX_DATA_CELLS) bound the worst case at
limit x memory per row.

    python bench/data_files.py [--tiny 500000] [--real 50000]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from _common import EVALSPEC, measure

SPEC = """\
kind: Dataset
name: rows
items: file://../data/rows.{ext}
"""


def _write(root: Path, ext: str, rows: int, wide: bool) -> None:
    (root / "specs").mkdir(parents=True, exist_ok=True)
    (root / "data").mkdir(exist_ok=True)
    (root / "evalspec.yaml").write_text("project: bench\n")
    (root / "specs" / "rows.yaml").write_text(SPEC.format(ext=ext))
    filler = "lorem ipsum dolor sit amet " * 7  # ~190 characters a column
    with (root / "data" / f"rows.{ext}").open("w") as out:
        if ext == "csv":
            out.write("id,a,b,c,d\n" if wide else "q\n")
        for i in range(rows):
            if wide:
                row = {"id": f"r{i}", **{k: f"{filler}{i}" for k in "abcd"}}
            else:
                row = {"q": str(i % 10)}
            out.write(",".join(row.values()) + "\n" if ext == "csv" else json.dumps(row) + "\n")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--tiny", type=int, default=500_000, help="rows of the tiny shape")
    parser.add_argument("--real", type=int, default=50_000, help="rows of the ~1 KB shape")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        _, _, base = measure([*EVALSPEC, "--version"], Path(tmp))
        print(f"baseline (evalspec --version): peak {base} MiB")
        print(f"{'shape':<22} {'rows':>9} {'file MiB':>9} {'peak MiB':>9} {'bytes/row':>10}")
        for ext in ("csv", "jsonl"):
            for wide, rows in ((False, args.tiny), (True, args.real)):
                root = Path(tmp) / f"{ext}-{wide}"
                _write(root, ext, rows, wide)
                size = (root / "data" / f"rows.{ext}").stat().st_size / 2**20
                _, _, peak = measure([*EVALSPEC, "validate", str(root)], root)
                per_row = (peak - base) * 2**20 / rows
                shape = f"{ext} {'~1 KB' if wide else 'tiny'}"
                print(f"{shape:<22} {rows:>9,} {size:>9.1f} {peak:>9} {per_row:>10,.0f}")


if __name__ == "__main__":
    main()
