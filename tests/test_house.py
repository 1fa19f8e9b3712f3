"""The house, kept by the test command: ruff's lint and format, mypy (strict for the
pure rules, per module no more errors than tests/mypy-baseline.txt holds for
the rest), the layer contracts of ARCHITECTURE.md (import-linter, in
pyproject.toml), no logic module over 300 lines and no import cycle inside
the package. A newcomer who breaks one learns it from `scripts/test`."""

from __future__ import annotations

import ast
import re
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = ROOT / "hotline"
BIN = Path(sys.executable).parent
LIMIT = 300
# Declarations, not logic: a table schema, the configuration's schema, the
# AMI events' shapes, migrations.
DECLARATIVE = {"config.py", "events.py", "models.py"}


def _run(*argv: str, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run(list(argv), cwd=cwd, capture_output=True, text=True, timeout=600)


def test_ruff_finds_nothing() -> None:
    done = _run(str(BIN / "ruff"), "check", "--no-cache", "hotline", "tests", "bench")
    assert done.returncode == 0, done.stdout[-4000:] + done.stderr[-2000:]


def test_the_code_is_formatted() -> None:
    done = _run(str(BIN / "ruff"), "format", "--check", "--no-cache", "hotline", "tests", "bench")
    assert done.returncode == 0, (
        "run `.venv/bin/ruff format` to lay it out:\n" + done.stdout[-4000:] + done.stderr[-2000:]
    )


def test_the_layer_contracts_hold() -> None:
    done = _run(str(BIN / "lint-imports"), "--no-cache")
    assert done.returncode == 0 and "0 broken" in done.stdout, done.stdout[-4000:] + done.stderr[-2000:]


def test_mypy_errors_only_shrink(tmp_path: Path) -> None:
    done = _run(str(BIN / "mypy"), "--cache-dir", str(tmp_path / "mypy"), "--no-error-summary", "hotline")
    now = Counter(m.group(1) for m in re.finditer(r"^(hotline/\S+?\.py):\d+: error:", done.stdout, re.M))
    baseline = {
        path: int(n)
        for n, path in (
            line.split() for line in (ROOT / "tests" / "mypy-baseline.txt").read_text().splitlines() if line.strip()
        )
    }
    grown = {p: (baseline.get(p, 0), n) for p, n in now.items() if n > baseline.get(p, 0)}
    lines = [line for line in done.stdout.splitlines() if line.split(":")[0] in grown]
    assert not grown, f"more mypy errors than tests/mypy-baseline.txt allows {grown}:\n" + "\n".join(lines[:40])
    shrunk = {p: (n, now.get(p, 0)) for p, n in baseline.items() if now.get(p, 0) < n}
    if shrunk:
        print(f"mypy: fewer errors than the baseline, lower it in tests/mypy-baseline.txt: {shrunk}")


def _modules() -> dict[str, Path]:
    out = {}
    for path in PACKAGE.rglob("*.py"):
        if "migrations" in path.parts:
            continue
        parts = list(path.relative_to(ROOT).with_suffix("").parts)
        if parts[-1] == "__init__":
            parts.pop()
        out[".".join(parts)] = path
    return out


def test_no_logic_module_passes_300_lines() -> None:
    big = {
        str(p.relative_to(ROOT)): n
        for p in _modules().values()
        if p.name not in DECLARATIVE and (n := len(p.read_text(encoding="utf-8").splitlines())) > LIMIT
    }
    assert not big, f"modules over {LIMIT} lines (split them by responsibility): {big}"


def _imports(name: str, path: Path, known: set[str]) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    is_pkg = path.name == "__init__.py"
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom):
            mod = node.module or ""
            if node.level:
                base = name.split(".")
                base = base[: len(base) - node.level + (1 if is_pkg else 0)]
                mod = ".".join(base + ([mod] if mod else []))
            found.add(mod)
            found.update(f"{mod}.{a.name}" for a in node.names)
    return {m for m in found if m in known and m != name}


def _cycles(graph: dict[str, set[str]]) -> list[list[str]]:
    """Strongly connected components of more than one module (Tarjan, iterative)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on: set[str] = set()
    stack: list[str] = []
    out: list[list[str]] = []
    counter = 0
    for root in graph:
        if root in index:
            continue
        work = [(root, iter(sorted(graph[root])))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on.add(root)
        while work:
            v, children = work[-1]
            for w in children:
                if w not in index:
                    index[w] = low[w] = counter
                    counter += 1
                    stack.append(w)
                    on.add(w)
                    work.append((w, iter(sorted(graph[w]))))
                    break
                if w in on:
                    low[v] = min(low[v], index[w])
            else:
                work.pop()
                if work:
                    low[work[-1][0]] = min(low[work[-1][0]], low[v])
                if low[v] == index[v]:
                    comp = []
                    while True:
                        w = stack.pop()
                        on.discard(w)
                        comp.append(w)
                        if w == v:
                            break
                    if len(comp) > 1:
                        out.append(sorted(comp))
    return out


def test_no_import_cycle_inside_the_package() -> None:
    modules = _modules()
    graph = {name: _imports(name, path, set(modules)) for name, path in modules.items()}
    assert not _cycles(graph), _cycles(graph)


@pytest.mark.parametrize(
    "graph, expected",
    [({"a": {"b"}, "b": {"a"}, "c": {"a"}}, [["a", "b"]]), ({"a": {"b"}, "b": {"c"}, "c": set()}, [])],
)
def test_the_cycle_finder_finds_cycles(graph: dict[str, set[str]], expected: list[list[str]]) -> None:
    assert _cycles(graph) == expected
