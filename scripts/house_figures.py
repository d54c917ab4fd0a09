"""Print the house figures of issue 14 for this tree; with --check, exit 1 on a missed target.

Standard library only (`python scripts/house_figures.py`), so it runs without the app installed.
"""

from __future__ import annotations

import argparse
import ast
import re
import shutil
import statistics
import subprocess
from collections.abc import Container, Iterable, Iterator
from dataclasses import dataclass
from functools import cache
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
APP_PACKAGES = ("core", "activation", "accounts", "consult", "service")
DOMAINS = ("activation", "accounts", "consult", "service")
MAX_MODULE, MAX_MEDIAN, MAX_FUNCTION, MAX_DUPLICATES = 400, 120, 60, 5
ROUTE_ATTRS = frozenset({"route", "get", "post", "put", "patch", "delete"})
TYPE_CHECKING = ("TYPE_CHECKING", "typing.TYPE_CHECKING")
COMMITS = ("commit", "rollback")
FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
Found = tuple[ast.Import | ast.ImportFrom, bool, bool]
DUPLICATE_ROW = re.compile(r"^D\d+\s+(\S+):\d+-\d+\s+~\s+(\S+):\d+-\d+")


@dataclass(frozen=True)
class Import:
    """One import statement: where, its text, what it names and in which context."""

    where: str
    base: str | None  # the module of a `from … import`, relative levels resolved
    names: tuple[str, ...]  # dotted names: `a.b` for `import a.b`, `m.c` for `from m import c`
    in_function: bool
    type_checking: bool


@dataclass
class Figure:
    """One section of the report: a title, its target, whether it is met, its lines."""

    title: str
    target: str
    ok: bool
    lines: list[str]


def python_files(root: Path, tops: Iterable[str] = APP_PACKAGES) -> list[Path]:
    """All .py files below the given top-level folders of root (the app packages)."""
    return sorted(p for top in tops for p in (root / top).rglob("*.py"))


def module_name(root: Path, path: Path) -> str:
    """The dotted module name of a file (a package's __init__ is the package)."""
    parts = list(path.relative_to(root).with_suffix("").parts)
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


@cache
def parse(path: Path) -> ast.Module:
    """The syntax tree of a file, read once."""
    return ast.parse(path.read_text(encoding="utf-8"), filename=str(path))


def _walk(nodes: Iterable[ast.AST], in_function: bool, type_checking: bool) -> Iterator[Found]:
    """Every import statement below nodes, with its function and TYPE_CHECKING context."""
    for node in nodes:
        if isinstance(node, ast.Import | ast.ImportFrom):
            yield node, in_function, type_checking
        elif isinstance(node, ast.If) and ast.unparse(node.test) in TYPE_CHECKING:
            yield from _walk(node.body, in_function, True)
            yield from _walk(node.orelse, in_function, type_checking)
        else:
            inner = in_function or isinstance(node, (*FUNCTIONS, ast.Lambda))
            yield from _walk(ast.iter_child_nodes(node), inner, type_checking)


def imports(root: Path, path: Path) -> list[Import]:
    """The import statements of one file."""
    module, found = module_name(root, path), []
    package = module.split(".") if path.name == "__init__.py" else module.split(".")[:-1]
    for node, in_function, type_checking in _walk(parse(path).body, False, False):
        where = f"{path.relative_to(root)}:{node.lineno}: {ast.unparse(node)}"
        if isinstance(node, ast.Import):
            base, names = None, tuple(alias.name for alias in node.names)
        else:
            parts = package[: len(package) - node.level + 1] if node.level else []
            base = ".".join([*parts, node.module] if node.module else parts)
            names = tuple(f"{base}.{alias.name}" for alias in node.names)
        found.append(Import(where, base, names, in_function, type_checking))
    return found


def is_first_party(name: str) -> bool:
    """Whether a dotted name (or a path with slashes) belongs to an app package."""
    return name.replace("/", ".").split(".")[0] in APP_PACKAGES


def explicit_targets(imp: Import, modules: Container[str]) -> list[str]:
    """The app modules an import names outside TYPE_CHECKING: `from a.b import c` gives a.b.c
    if that is a module, and a.b only if some name is not one (parent packages are not edges).
    """
    if imp.type_checking:
        return []
    submodules = [name for name in imp.names if name in modules]
    if imp.base is None or imp.base not in modules or len(submodules) == len(imp.names):
        return submodules
    return [imp.base, *submodules]


def import_graph(root: Path) -> dict[str, set[str]]:
    """Explicit first-party import edges between app modules, TYPE_CHECKING left out."""
    files = {module_name(root, p): p for p in python_files(root)}
    graph = {}
    for name, path in files.items():
        edges = {t for i in imports(root, path) for t in explicit_targets(i, files)}
        # A package's __init__ naming its own attributes is no self-import.
        graph[name] = edges - {name} if path.name == "__init__.py" else edges
    return graph


def strongly_connected(graph: dict[str, set[str]]) -> list[list[str]]:
    """Tarjan's strongly connected components of graph, each sorted."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    stack: list[str] = []
    components: list[list[str]] = []

    def visit(node: str) -> None:
        index[node] = low[node] = len(index)
        stack.append(node)
        for succ in sorted(graph.get(node, ())):
            if succ not in index:
                visit(succ)
                low[node] = min(low[node], low[succ])
            elif succ in stack:
                low[node] = min(low[node], index[succ])
        if low[node] == index[node]:
            at = stack.index(node)
            components.append(sorted(stack[at:]))
            del stack[at:]

    for node in sorted(graph):
        if node not in index:
            visit(node)
    return components


def import_cycles(root: Path) -> list[list[str]]:
    """Import cycles among app modules: components of two or more, then self-imports."""
    graph = import_graph(root)
    cycles = sorted(c for c in strongly_connected(graph) if len(c) > 1)
    return cycles + [[name] for name in sorted(graph) if name in graph[name]]


def core_domain_imports(root: Path) -> list[str]:
    """Every import in core/ of a domain package (any level, TYPE_CHECKING included)."""
    return [
        imp.where
        for path in python_files(root, ["core"])
        for imp in imports(root, path)
        if any(name.split(".")[0] in DOMAINS for name in imp.names)
    ]


def function_imports(root: Path) -> list[str]:
    """First-party imports in function bodies, outside service/, cli.py and cli/ packages."""
    return [
        imp.where
        for path in python_files(root, [top for top in APP_PACKAGES if top != "service"])
        if not {"cli", "cli.py"} & {*path.relative_to(root).parts}
        for imp in imports(root, path)
        if imp.in_function and not imp.type_checking and any(map(is_first_party, imp.names))
    ]


def view_functions(tree: ast.Module) -> list[ast.FunctionDef | ast.AsyncFunctionDef]:
    """The Flask views a module defines: routed by decorator or by `add_url_rule`."""
    routed: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call) and getattr(node.func, "attr", None) == "add_url_rule":
            args = node.args[2:3] + [k.value for k in node.keywords if k.arg == "view_func"]
            routed.update(a.id for a in args if isinstance(a, ast.Name))
    views = [
        node
        for node in ast.walk(tree)
        if isinstance(node, FUNCTIONS)
        and (node.name in routed or any(map(_is_route, node.decorator_list)))
    ]
    return views


def _is_route(decorator: ast.expr) -> bool:
    """Whether a decorator is `@<name>.route(...)` or `@<name>.get/post/put/patch/delete(...)`."""
    return isinstance(decorator, ast.Call) and getattr(decorator.func, "attr", None) in ROUTE_ATTRS


def count_commits(node: ast.AST) -> int:
    """How many `.commit()` and `.rollback()` calls stand below node."""
    return sum(
        isinstance(n, ast.Call) and getattr(n.func, "attr", "") in COMMITS for n in ast.walk(node)
    )


def handler_commits(root: Path) -> list[tuple[str, int, int]]:
    """(file, commits in its views, commits in the whole module) for each view module."""
    found = ((p, view_functions(parse(p))) for p in python_files(root))
    return [
        (str(p.relative_to(root)), sum(map(count_commits, views)), count_commits(parse(p)))
        for p, views in found
        if views
    ]


def figure_sizes(root: Path) -> Figure:
    """Module sizes over the app packages and bench/."""
    sizes = {
        str(p.relative_to(root)): len(p.read_text(encoding="utf-8").splitlines())
        for p in python_files(root, (*APP_PACKAGES, "bench"))
    }
    largest, median = max(sizes, key=sizes.__getitem__), statistics.median(sizes.values())
    over = sorted(((n, f) for f, n in sizes.items() if n > MAX_MODULE), reverse=True)
    lines = [f"modules: {len(sizes)}, max: {sizes[largest]} ({largest}), median: {median:g}"]
    lines += [f"over {MAX_MODULE}: {f} ({n})" for n, f in over]
    ok = not over and median <= MAX_MEDIAN
    return Figure("module sizes", f"none over {MAX_MODULE}, median <= {MAX_MEDIAN}", ok, lines)


def figure_functions(root: Path) -> Figure:
    """Functions longer than MAX_FUNCTION lines (decorators left out) in app code and bench/."""
    long = sorted(
        (n, f"{p.relative_to(root)}:{node.lineno} {node.name}")
        for p in python_files(root, (*APP_PACKAGES, "bench"))
        for node in ast.walk(parse(p))
        if isinstance(node, FUNCTIONS)
        and (n := (node.end_lineno or 0) - node.lineno + 1) > MAX_FUNCTION
    )[::-1]
    lines = [f"count: {len(long)}"] + [f"{where} {n}" for n, where in long]
    return Figure(f"functions over {MAX_FUNCTION} lines", "none", not long, lines)


def figure_commits(root: Path) -> Figure:
    """Commit and rollback calls in modules that define Flask views."""
    rows = handler_commits(root)
    in_views, in_modules = sum(r[1] for r in rows), sum(r[2] for r in rows)
    lines = [f"view modules: {len(rows)}, in views: {in_views}, in those modules: {in_modules}"]
    lines += [f"{f}: views {v}, module {m}" for f, v, m in rows if m]
    return Figure("commit/rollback in HTTP handlers", "0", in_modules == 0, lines)


def figure_listing(title: str, target: str, found: list[str]) -> Figure:
    """A figure whose target is an empty list."""
    return Figure(title, target, not found, [f"count: {len(found)}", *found])


def figure_duplicates(root: Path) -> Figure:
    """`duplicates` pairs whose both sides are in the app packages."""
    title, target = "duplicates pairs in app code", f"at most {MAX_DUPLICATES}"
    if shutil.which("duplicates") is None:
        return Figure(title, target, True, ["duplicates: not available"])
    command = ["duplicates", "--most", "200", "--seconds", "120", "--repo", str(root)]
    out = subprocess.run(command, capture_output=True, text=True, check=False).stdout  # noqa: S603
    rows = [(m, line) for line in out.splitlines() if (m := DUPLICATE_ROW.match(line))]
    app = [line for m, line in rows if is_first_party(m[1]) and is_first_party(m[2])]
    notes = [line for line in out.splitlines() if line.startswith(("(+", "incomplete:"))]
    lines = [f"pairs in all: {len(rows)}, in app code: {len(app)}", *app, *notes]
    return Figure(title, target, len(app) <= MAX_DUPLICATES, lines)


def main(argv: list[str] | None = None) -> int:
    """Print the report; with --check, return 1 when a target is missed."""
    parser = argparse.ArgumentParser(description="Print the house figures of issue 14.")
    parser.add_argument("--check", action="store_true", help="exit 1 when a target is missed")
    parser.add_argument("--root", type=Path, default=ROOT, help="the repository to measure")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    report = [
        figure_sizes(root),
        figure_functions(root),
        figure_commits(root),
        figure_listing("function-level first-party imports", "0", function_imports(root)),
        figure_listing("import cycles", "0", [" <-> ".join(c) for c in import_cycles(root)]),
        figure_duplicates(root),
        figure_listing("core/ imports of a domain", "none", core_domain_imports(root)),
    ]
    for number, fig in enumerate(report, 1):
        print(f"{number}. {fig.title} (target: {fig.target}) [{'ok' if fig.ok else 'over'}]")
        print("\n".join(f"   {line}" for line in fig.lines), end="\n\n")
    missed = [fig.title for fig in report if not fig.ok]
    print(f"targets missed: {len(missed)} of {len(report)}")
    return 1 if args.check and missed else 0


if __name__ == "__main__":
    raise SystemExit(main())
