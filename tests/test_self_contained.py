"""The repository stands alone: no code in qa/, tests/, benchmarks/ or scripts/ reads a path outside it
(external evaluation data goes through qa/data.py, test texts are in tests/data/)."""

from __future__ import annotations

import re
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
OUTSIDE = re.compile(r"""\.\./shared|["'/]shared/(seeds|eval)|["']/work/|(REPO|ROOT)\.parent\b|HERE\.(resolve\(\)\.)?parents\[1\]"""
                     r"""|__file__\)(\.resolve\(\))?\.parents\[[2-9]\]""")


def test_no_code_reads_outside_the_repository():
    hits = []
    for folder in ("qa", "tests", "benchmarks", "scripts"):
        for path in sorted((ROOT / folder).rglob("*.py")):
            depth = len(path.relative_to(ROOT).parts) - 1  # parents[depth] is the repository root
            for n, line in enumerate(path.read_text("utf-8").splitlines(), 1):
                found = OUTSIDE.search(line)
                up = re.search(r"parents\[(\d)\]$", found.group(0)) if found else None
                if found and not (up and int(up.group(1)) <= depth):  # parents[depth] is the root itself
                    hits.append(f"{path.relative_to(ROOT)}:{n}: {line.strip()}")
    assert hits == [], "paths outside the repository:\n" + "\n".join(hits)
