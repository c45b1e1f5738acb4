#!/usr/bin/python3
"""Checks that the include arrows between the server's modules run one way.

A module is the first folder under include/tigerfans/ or src/ (`http`, `flows`, `accounting`,
...); a file directly under src/ is a module of its own, named by its stem (`main`). Every
`#include "..."` of a file under include/ or src/ is resolved against include/ and src/, the
two include folders of the core library. The check fails, printing one line per finding, when

- the modules' include graph has a cycle: each module of the cycle is printed with one include
  that ties it to the next, so the arrow to turn round is easy to find;
- a header under include/ includes a file under src/ (the public headers stand on their own);
- a quoted include names no file under include/ or src/.

    scripts/check_includes.py [--root DIR]
"""

import argparse
import os
import re
import sys

INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.MULTILINE)
SOURCE_SUFFIXES = (".hpp", ".cpp", ".h")


def source_files(root):
    """Every C++ file under include/ and src/, as paths relative to `root`."""
    found = []
    for top in ("include", "src"):
        for folder, _, names in os.walk(os.path.join(root, top)):
            for name in names:
                if name.endswith(SOURCE_SUFFIXES):
                    found.append(os.path.relpath(os.path.join(folder, name), root))
    return sorted(found)


def module_of(path):
    """`include/tigerfans/http/router.hpp` -> `http`; `src/main.cpp` -> `main`."""
    parts = path.split(os.sep)
    if parts[0] == "include":
        parts = parts[2:] if len(parts) > 2 and parts[1] == "tigerfans" else parts[1:]
    else:
        parts = parts[1:]
    return parts[0] if len(parts) > 1 else os.path.splitext(parts[0])[0]


def resolve(root, written):
    """The file a quoted include names, relative to `root`, or None."""
    for top in ("include", "src"):
        candidate = os.path.join(top, written)
        if os.path.isfile(os.path.join(root, candidate)):
            return os.path.normpath(candidate)
    return None


def read_includes(root):
    """(includer, included or None, as written) for every quoted include."""
    arrows = []
    for path in source_files(root):
        with open(os.path.join(root, path), encoding="utf-8") as file:
            text = file.read()
        for written in INCLUDE.findall(text):
            arrows.append((path, resolve(root, written), written))
    return arrows


def module_graph(arrows):
    """{module: {module it includes: the first (includer, included) that says so}}."""
    graph = {}
    for includer, included, _ in arrows:
        if included is None:
            continue
        source, target = module_of(includer), module_of(included)
        graph.setdefault(source, {})
        graph.setdefault(target, {})
        if source != target:
            graph[source].setdefault(target, (includer, included))
    return graph


def find_cycle(graph):
    """One cycle of the graph as a list of modules (first == last), or None."""
    state = {}  # absent: unseen, 1: on the current path, 2: done

    def visit(module, path):
        state[module] = 1
        path.append(module)
        for target in sorted(graph[module]):
            if state.get(target) == 1:
                return path[path.index(target):] + [target]
            if target not in state:
                cycle = visit(target, path)
                if cycle:
                    return cycle
        path.pop()
        state[module] = 2
        return None

    for module in sorted(graph):
        if module not in state:
            cycle = visit(module, [])
            if cycle:
                return cycle
    return None


def findings(root):
    """What is wrong with the tree at `root`, one line each (empty: nothing)."""
    arrows = read_includes(root)
    lines = []
    for includer, included, written in arrows:
        if included is None:
            lines.append(f'{includer}: "{written}" names no file under include/ or src/')
        elif includer.startswith("include" + os.sep) and included.startswith("src" + os.sep):
            lines.append(f"{includer}: a public header includes {included}, a file of src/")
    graph = module_graph(arrows)
    cycle = find_cycle(graph)
    if cycle:
        lines.append("the modules include each other in a circle: " + " -> ".join(cycle))
        for source, target in zip(cycle, cycle[1:]):
            includer, included = graph[source][target]
            lines.append(f"  {source} -> {target}: {includer} includes {included}")
    return lines


def main(argv):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_root = os.path.realpath(os.path.join(os.path.dirname(__file__), ".."))
    parser.add_argument("--root", default=default_root, help="the repository (default: this one)")
    options = parser.parse_args(argv)
    lines = findings(options.root)
    for line in lines:
        print(line)
    if lines:
        return 1
    modules = len(module_graph(read_includes(options.root)))
    print(f"check_includes: {modules} modules, include arrows one way")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
