"""The package's layering (DESIGN §9), checked on its source: the components (top-level modules
and subpackages of ``bnn_mogp``) import each other without a cycle, counting imports inside
functions; nothing in the library imports the ``cli`` application; no module imports the
top-level facade; and imports inside functions are kept for the optional, heavy plotting and
ArviZ stack."""

import ast
from collections import defaultdict
from pathlib import Path

PACKAGE = Path(__file__).resolve().parents[1] / "bnn_mogp"
#: modules that may be imported inside a function: optional or heavy dependencies, and BlackJAX,
#: whose import runs JAX operations (and so would start JAX's backend at ``import bnn_mogp``)
LAZY_OK = ("arviz", "matplotlib", "xarray", "dask", "distributed", "blackjax")


def _modules():
    for path in sorted(PACKAGE.rglob("*.py")):
        rel = path.relative_to(PACKAGE.parent).with_suffix("")
        parts = list(rel.parts)
        is_package = parts[-1] == "__init__"
        if is_package:
            parts = parts[:-1]
        yield path, parts, is_package


def _imports(path, parts, is_package):
    """(imported module, line, inside a function) for every import of a module."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    functions = [n for n in ast.walk(tree) if isinstance(n, ast.FunctionDef | ast.AsyncFunctionDef)]
    inside = {id(n) for f in functions for n in ast.walk(f) if n is not f}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = parts if is_package else parts[:-1]
                base = base[: len(base) - (node.level - 1)]
                module = ".".join([*base, *([node.module] if node.module else [])])
            else:
                module = node.module or ""
            names = [f"{module}.{a.name}" if module == "bnn_mogp" else module for a in node.names]
        else:
            continue
        for name in names:
            yield name, node.lineno, id(node) in inside


def _component(module: str):
    parts = module.split(".")
    return parts[1] if len(parts) > 1 and parts[0] == "bnn_mogp" else None


def _graph():
    edges, facade, lazy = defaultdict(set), [], []
    for path, parts, is_package in _modules():
        src = _component(".".join(parts))
        for name, line, in_function in _imports(path, parts, is_package):
            where = f"{path.relative_to(PACKAGE.parent)}:{line}"
            if in_function and not name.startswith(LAZY_OK):
                lazy.append(f"{where} imports {name} inside a function")
            if src is None:  # the facade itself
                continue
            if name == "bnn_mogp":
                facade.append(f"{where} imports the facade")
            dst = _component(name)
            if dst is not None and dst != src and name.split(".")[1] != "__version__":
                edges[src].add(dst)
    return edges, facade, lazy


def _cycle(edges):
    state, stack = {}, []

    def visit(node):
        state[node] = 1
        stack.append(node)
        for nxt in sorted(edges.get(node, ())):
            if state.get(nxt) == 1:
                return stack[stack.index(nxt) :] + [nxt]
            if nxt not in state and (found := visit(nxt)):
                return found
        state[node] = 2
        stack.pop()
        return None

    for node in sorted(edges):
        if node not in state and (found := visit(node)):
            return found
    return None


def test_components_form_a_dag_and_the_library_does_not_import_the_cli():
    edges, facade, _ = _graph()
    assert len(edges) >= 10, "the import graph was not read"
    cycle = _cycle(edges)
    assert cycle is None, f"import cycle: {' -> '.join(cycle)}"
    assert not [s for s, dsts in edges.items() if "cli" in dsts and s not in ("cli", "__main__")]
    assert not facade, facade


def test_imports_inside_functions_only_for_optional_dependencies():
    _, _, lazy = _graph()
    assert not lazy, "\n".join(lazy)


def test_no_family_switch_outside_priors():
    """Each prior places itself: outside priors/ no ``isinstance``/``issubclass`` test names a
    prior family (a family is only ever built, never asked about)."""
    from bnn_mogp.priors import FAMILIES

    names = {cls.__name__ for cls in FAMILIES.values()}
    offenders = []
    for path, parts, _ in _modules():
        if len(parts) > 1 and parts[1] == "priors":
            continue
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if not (
                isinstance(node, ast.Call)
                and isinstance(node.func, ast.Name)
                and node.func.id in ("isinstance", "issubclass")
                and len(node.args) == 2
            ):
                continue
            named = {n.id for n in ast.walk(node.args[1]) if isinstance(n, ast.Name)}
            named |= {n.attr for n in ast.walk(node.args[1]) if isinstance(n, ast.Attribute)}
            if named & names:
                offenders.append(f"{path.relative_to(PACKAGE.parent)}:{node.lineno}")
    assert not offenders, offenders


def test_importing_the_package_does_not_start_jax():
    """``import bnn_mogp`` (and its command line) leaves JAX's backend unstarted, so that JAX
    settings that must come first — ``jax_num_cpu_devices`` for parallel chains, the platform —
    can still be made after it (in a fresh interpreter: the test process has started JAX)."""
    import subprocess
    import sys

    code = (
        "import bnn_mogp, bnn_mogp.cli\n"
        "from jax._src import xla_bridge\n"
        "assert not xla_bridge._backends, 'importing bnn_mogp started a JAX backend'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
