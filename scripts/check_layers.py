#!/usr/bin/env python3
"""Checks that includes point one way through the layers (docs/architecture.md).

Layers, each a folder, in order: host/math -> host/core -> host/engines | cuda
-> host/theory -> host/experiment -> host/cli; host/bench and tests sit on top.
A file may include headers of its own layer and of the layers before it, never
after; host/engines and cuda/ are siblings and do not include each other.
Also fails on an include that names no file of the repository (except the
generated files named in GENERATED) and on a cycle of includes between files. Prints every violation; exit status 1 if any.

    scripts/check_layers.py [REPOSITORY_ROOT]
"""
import os
import re
import sys

# (folder, rank, layer name): a file in FOLDER is in LAYER.
LAYERS = [
    ("host/math", 0, "math"),
    ("host/core", 1, "core"),
    ("host/engines", 2, "engines"),
    ("cuda", 2, "cuda"),
    ("host/theory", 3, "theory"),
    ("host/experiment", 4, "experiment"),
    ("host/cli", 5, "cli"),
    ("host/bench", 6, "bench"),
    ("tests", 6, "tests"),
]
SIBLINGS = {("engines", "cuda"), ("cuda", "engines")}
# Include roots, in the order the compiler searches them (CMakeLists.txt).
ROOTS = ["host", "."]
# Files the build generates (not in the repository), by name: the file that
# makes each one.
GENERATED = {
    "fused_static_model.inc": "scripts/ptx_static.py (CMakeLists.txt, bench_gpu --static)",
}
SOURCE = re.compile(r"\.(h|hpp|cpp|cu|cuh)$")
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"')


def layer_of(path):
    for folder, rank, name in LAYERS:
        if path == folder or path.startswith(folder + "/"):
            return rank, name
    return None


def resolve(root, including, name):
    """The repository path of an #include "NAME" in INCLUDING, or None."""
    candidates = [os.path.join(os.path.dirname(including), name)] + [os.path.join(r, name) for r in ROOTS]
    for c in candidates:
        c = os.path.normpath(c)
        if os.path.isfile(os.path.join(root, c)):
            return c
    return None


def main():
    root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), ".."))
    files = []
    for top in ("host", "cuda", "tests"):
        for dirpath, _, names in os.walk(os.path.join(root, top)):
            for n in names:
                if SOURCE.search(n):
                    files.append(os.path.relpath(os.path.join(dirpath, n), root))
    errors, graph = [], {}
    for f in sorted(files):
        mine = layer_of(f)
        if mine is None:
            errors.append(f"{f}: not in any layer folder ({', '.join(l[0] for l in LAYERS)})")
            continue
        graph[f] = []
        with open(os.path.join(root, f), encoding="utf-8") as text:
            for number, line in enumerate(text, 1):
                m = INCLUDE.match(line)
                if not m:
                    continue
                if m.group(1) in GENERATED:
                    continue
                target = resolve(root, f, m.group(1))
                if target is None:
                    errors.append(f"{f}:{number}: #include \"{m.group(1)}\" names no file of the repository")
                    continue
                graph[f].append(target)
                theirs = layer_of(target)
                if theirs is None:
                    continue
                if (mine[1], theirs[1]) in SIBLINGS:
                    errors.append(f"{f}:{number}: {mine[1]} includes {target} of its sibling layer {theirs[1]}")
                elif theirs[0] > mine[0]:
                    errors.append(f"{f}:{number}: {mine[1]} includes {target} of the later layer {theirs[1]}")
    # Cycles: depth-first search, colouring files on the current path.
    state = {}

    def visit(f, path):
        state[f] = 1
        path.append(f)
        for g in graph.get(f, []):
            if state.get(g) == 1:
                errors.append("include cycle: " + " -> ".join(path[path.index(g):] + [g]))
            elif g not in state:
                visit(g, path)
        path.pop()
        state[f] = 2

    for f in sorted(graph):
        if f not in state:
            visit(f, [])
    for e in errors:
        print(e)
    print(f"check_layers: {len(graph)} files, {sum(len(v) for v in graph.values())} includes, "
          f"{len(errors)} violation(s)")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
