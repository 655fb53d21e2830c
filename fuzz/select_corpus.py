#!/usr/bin/env python3
"""Chooses the committed corpus of one fuzz target (called by scripts/fuzz).

usage: select_corpus.py CONTROL_FILE CORPUS_DIR BUDGET

CONTROL_FILE is a libFuzzer merge control file (`-merge=1
-merge_control_file=…`) over CORPUS_DIR and the fuzzer's working corpus; it
lists, for every input, the code it covers (`COV` lines).

Every hand-written seed in CORPUS_DIR is kept: a seed is a file whose name
is not a 40-digit SHA-1, the way libFuzzer names what it finds. Then the
fuzzer-found inputs that cover the most code the kept files do not are
added greedily (the smaller first on a tie), at most BUDGET of them, and
fuzzer-found files of CORPUS_DIR that are not chosen are removed. So the
committed corpus stays small, while the working corpus (fuzz/target/,
never committed) keeps everything for the next run.
"""

import hashlib
import os
import re
import sys

FOUND = re.compile(r"^[0-9a-f]{40}$")


def main() -> None:
    if len(sys.argv) != 4:
        sys.exit(__doc__)
    control, corpus, budget = sys.argv[1], sys.argv[2], int(sys.argv[3])
    with open(control, encoding="utf-8", errors="surrogateescape") as f:
        lines = f.read().splitlines()
    count = int(lines[0])
    paths = lines[2 : 2 + count]
    coverage: dict[int, set[int]] = {}
    for line in lines[2 + count :]:
        if line.startswith("COV "):
            fields = line.split()
            coverage[int(fields[1])] = set(map(int, fields[2:]))

    corpus_dir = os.path.realpath(corpus)
    covered: set[int] = set()
    seeds = 0
    candidates: dict[int, set[int]] = {}
    for i, path in enumerate(paths):
        own = os.path.realpath(os.path.dirname(path)) == corpus_dir
        if own and not FOUND.match(os.path.basename(path)):
            seeds += 1
            covered |= coverage.get(i, set())
        else:
            candidates[i] = coverage.get(i, set())

    chosen = []
    while len(chosen) < budget:
        best, best_key = None, (0, 0)
        for i, pcs in candidates.items():
            gain = len(pcs - covered)
            if gain == 0:
                continue
            key = (gain, -os.path.getsize(paths[i]))
            if key > best_key:
                best, best_key = i, key
        if best is None:
            break
        chosen.append(best)
        covered |= candidates.pop(best)
    missed = len(set().union(*candidates.values()) - covered) if candidates else 0

    keep = set()
    for i in chosen:
        with open(paths[i], "rb") as f:
            data = f.read()
        name = hashlib.sha1(data).hexdigest()
        keep.add(name)
        target = os.path.join(corpus, name)
        if not os.path.exists(target):
            with open(target, "wb") as f:
                f.write(data)
    for name in os.listdir(corpus):
        if FOUND.match(name) and name not in keep:
            os.remove(os.path.join(corpus, name))
    print(
        f"{seeds} seeds + {len(chosen)} found inputs kept "
        f"(budget {budget}); {missed} covered points left to the working corpus"
    )


if __name__ == "__main__":
    main()
