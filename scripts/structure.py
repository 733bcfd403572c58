#!/usr/bin/env python3
"""Measures the source tree's shape: files over MAX_FILE lines, functions over MAX_FN
lines, the checker's dependencies (domain and cost only), and import circles between modules (a module's `use` of a sibling or of any
crate path, resolved to module files). Exits 1 if any limit is broken.
   usage: scripts/structure.py [SRC_DIR]"""
import os
import re
import sys

MAX_FILE, MAX_FN = 1000, 150
src = sys.argv[1] if len(sys.argv) > 1 else os.path.join(os.path.dirname(__file__), "..", "src")
src = os.path.normpath(src)


def module_of(path):
    rel = os.path.relpath(path, src)[:-3].split(os.sep)
    if rel[-1] in ("mod", "lib", "main"):
        rel = rel[:-1]
    return tuple(rel)


files = {}
for root, _, names in os.walk(src):
    for n in names:
        if n.endswith(".rs"):
            p = os.path.join(root, n)
            files[module_of(p)] = p
modules = set(files)

problems = []
fn_re = re.compile(r"^(\s*)(pub(\([^)]*\))?\s+)?(const\s+)?(async\s+)?(unsafe\s+)?fn\s+(\w+)")
edges = {m: set() for m in modules}
for mod, path in sorted(files.items()):
    lines = open(path, encoding="utf-8").read().split("\n")
    if len(lines) > MAX_FILE:
        problems.append(f"{path}: {len(lines)} lines (over {MAX_FILE})")
    for i, line in enumerate(lines):
        m = fn_re.match(line)
        if not m or line.rstrip().endswith(";"):
            continue
        indent = m.group(1)
        for j in range(i + 1, len(lines)):
            if lines[j] == indent + "}":
                if j - i + 1 > MAX_FN:
                    problems.append(f"{path}:{i + 1}: fn {m.group(7)} is {j - i + 1} lines (over {MAX_FN})")
                break
    # Test modules and comments are left out of the import graph.
    in_test = False
    for line in lines:
        if line.startswith("#[cfg(test)]"):
            in_test = True
        if in_test or line.lstrip().startswith("//"):
            continue
        for target in re.findall(r"\b(super|crate)::((?:\w+::)*\w+)", line):
            base = mod[:-1] if target[0] == "super" else ()
            if target[0] == "super" and os.path.basename(path) in ("mod.rs",):
                base = mod[:-1]
            parts = target[1].split("::")
            best = None
            for k in range(len(parts), 0, -1):
                cand = base + tuple(parts[:k])
                if cand in modules:
                    best = cand
                    break
            if best and best != mod and not (len(best) < len(mod) and mod[: len(best)] == best):
                edges[mod].add(best)
        for grouped in re.findall(r"\buse\s+super::\{([^}]*)\}", line):
            for name in re.split(r"[,\s]+", grouped):
                cand = mod[:-1] + (name,)
                if cand in modules and cand != mod:
                    edges[mod].add(cand)

# The checker depends on the domain and the cost model only.
for mod, deps in edges.items():
    if mod[:1] == ("check",):
        for d in sorted(deps - {("domain",), ("cost",)}):
            problems.append(f"{'::'.join(mod)} depends on {'::'.join(d)} (the checker may use domain and cost only)")

# Circles: strongly connected components of more than one module (Tarjan).
index, low, stack, on, sccs, counter = {}, {}, [], set(), [], [0]


def visit(v):
    index[v] = low[v] = counter[0]
    counter[0] += 1
    stack.append(v)
    on.add(v)
    for w in edges[v]:
        if w not in index:
            visit(w)
            low[v] = min(low[v], low[w])
        elif w in on:
            low[v] = min(low[v], index[w])
    if low[v] == index[v]:
        comp = []
        while True:
            w = stack.pop()
            on.discard(w)
            comp.append(w)
            if w == v:
                break
        if len(comp) > 1:
            sccs.append(comp)


sys.setrecursionlimit(10000)
for v in sorted(modules):
    if v not in index:
        visit(v)
for comp in sccs:
    problems.append("import circle: " + " <-> ".join("::".join(c) for c in sorted(comp)))

print(f"{len(files)} files, largest {max(sum(1 for _ in open(p)) for p in files.values())} lines")
for p in problems:
    print(p)
sys.exit(1 if problems else 0)
