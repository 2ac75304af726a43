#!/usr/bin/env python3
"""Reports functions over 80 lines and source files over 500 (docs/architecture.md).

A function is found heuristically: a line at indentation 0 or 2 that ends with
"{" after a parameter list and is not a control statement, a namespace, a class
or an initialiser; its length runs to the matching "}" at the same indentation.
A table (data, or lambdas in a table) may be longer: it is named in TABLES with
its reason. A file of formulas may exceed 500 lines when its first lines say so
("file of formulas: <reason>"). Exit status 1 when something is over.

    scripts/check_sizes.py [REPOSITORY_ROOT]
"""
import os
import re
import sys

MAX_FUNCTION = 80
MAX_FILE = 500
# (file, function name): a table, not logic.
TABLES = {
    ("host/experiment/config_grid.cpp", "sweep_keys"): "the table of the sweepable keys, one lambda each",
}
SOURCE = re.compile(r"\.(h|hpp|cpp|cu|cuh)$")
NOT_A_FUNCTION = re.compile(r"^\s*(if|for|while|switch|do|else|namespace|class|struct|enum|union|extern|return|try|catch)\b")
NAME = re.compile(r"([A-Za-z_][A-Za-z_0-9:~]*)\s*\(")


def statement_start(lines, i):
    """The first line of the statement that ends on line I."""
    j = i
    while j > 0:
        previous = lines[j - 1].strip()
        if not previous or previous.endswith((";", "}", "{")) or previous.startswith(("#", "//")):
            break
        j -= 1
    return j


def functions(lines):
    """(name, first line, length) of each function definition."""
    out, i = [], 0
    while i < len(lines):
        if lines[i].rstrip().endswith("{"):
            j = statement_start(lines, i)
            indent = len(lines[j]) - len(lines[j].lstrip(" "))
            signature = " ".join(l.strip() for l in lines[j:i + 1])
            m = NAME.search(signature)
            if indent in (0, 2) and m and ")" in signature and not NOT_A_FUNCTION.match(lines[j]) \
                    and "=" not in signature[:m.start()]:
                close = " " * indent + "}"
                k = i + 1
                while k < len(lines) and not lines[k].startswith(close):
                    k += 1
                out.append((m.group(1), j + 1, k - j + 1))
                i = k
        i += 1
    return out


def main():
    root = os.path.abspath(sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), ".."))
    problems = []
    for top in ("host", "cuda"):
        for dirpath, _, names in os.walk(os.path.join(root, top)):
            for n in sorted(names):
                if not SOURCE.search(n):
                    continue
                path = os.path.join(dirpath, n)
                rel = os.path.relpath(path, root)
                with open(path, encoding="utf-8") as f:
                    lines = f.read().split("\n")
                head = "\n".join(lines[:15])
                if len(lines) > MAX_FILE and "file of formulas:" not in head:
                    problems.append(f"{rel}: {len(lines)} lines (over {MAX_FILE})")
                for name, first, length in functions(lines):
                    if length > MAX_FUNCTION and (rel, name.split("::")[-1]) not in TABLES:
                        problems.append(f"{rel}:{first}: {name} is {length} lines (over {MAX_FUNCTION})")
    for p in problems:
        print(p)
    print(f"check_sizes: {len(problems)} over the limits")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
