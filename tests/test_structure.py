"""The code's shape: no import cycle among gan/ and demo/ modules (imports inside functions count too), no file
over 450 lines, no folder of more than 15 modules, and no Gradio in the library or the run layer."""
import ast
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
PACKAGES = ("gan", "demo")
MAX_LINES = 450
MAX_MODULES = 15
# the demo modules that must not import gradio (besides all of gan/): the run layer and the pure helpers
GRADIO_FREE = ("demo.runs", "demo.runs.run", "demo.runs.manager", "demo.runs.storage", "demo.runs.snapshot",
               "demo.runs.monitors", "demo.runs.zerogpu", "demo.runs.sharing", "demo.runs.waitlist",
               "demo.runs.lending", "demo.present", "demo.tabs.explore_pictures",
               "demo.tabs.explore_style", "demo.form", "demo.words", "demo.words.app", "demo.words.train",
               "demo.words.explore", "demo.words.theory", "demo.words.translate", "demo.words.checkpoints",
               "demo.words.hub", "demo.words.notices", "demo.words.advice", "demo.words.charts", "demo.words.errors")


def modules() -> dict[str, Path]:
    """Dotted module name -> file, for every module of the two packages."""
    out = {}
    for pkg in PACKAGES:
        for path in sorted((ROOT / pkg).rglob("*.py")):
            parts = path.relative_to(ROOT).with_suffix("").parts
            out[".".join(parts[:-1] if parts[-1] == "__init__" else parts)] = path
    return out


def imports(name: str, path: Path, known: dict[str, Path]) -> set[str]:
    """Project modules that `name` imports anywhere in its file (module level, functions, conditionals)."""
    pkg = name if path.stem == "__init__" else name.rsplit(".", 1)[0]
    found = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            targets = [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = pkg.split(".")[: len(pkg.split(".")) - node.level + 1]
                base = ".".join(parts + ([base] if base else []))
            targets = [f"{base}.{a.name}" if f"{base}.{a.name}" in known else base for a in node.names]
        else:
            continue
        found.update(t for t in targets if t in known and t != name)
    return found


def test_no_import_cycles_counting_imports_inside_functions():
    known = modules()
    graph = {name: imports(name, path, known) for name, path in known.items()}
    state: dict[str, int] = {}
    stack: list[str] = []
    cycles = []

    def visit(node: str) -> None:
        state[node] = 1
        stack.append(node)
        for nxt in sorted(graph[node]):
            if state.get(nxt) == 1:
                cycles.append(stack[stack.index(nxt):] + [nxt])
            elif nxt not in state:
                visit(nxt)
        stack.pop()
        state[node] = 2

    for node in sorted(graph):
        if node not in state:
            visit(node)
    assert not cycles, "import cycles: " + "; ".join(" -> ".join(c) for c in cycles)
    assert "gan.family" in graph["gan.train.trainer"]  # the checker does see imports


def test_no_file_over_450_lines_and_no_gradio_in_the_library_or_the_run_layer():
    too_long = {str(p.relative_to(ROOT)): n for p in modules().values()
                if (n := len(p.read_text().splitlines())) > MAX_LINES}
    assert not too_long, too_long
    assert set(GRADIO_FREE) <= set(modules()), set(GRADIO_FREE) - set(modules())
    for name, path in modules().items():
        uses_gradio = "gradio" in {i.split(".")[0] for i in _raw_imports(path)}
        if name.startswith("gan") or name in GRADIO_FREE:
            assert not uses_gradio, f"{name} imports gradio"


def test_every_folder_is_a_package_of_at_most_15_modules():
    folders = {p.parent for p in modules().values()}
    assert {f.relative_to(ROOT).as_posix() for f in folders} >= {"gan", "gan/train", "gan/data", "gan/metrics"}
    for folder in folders:
        assert (folder / "__init__.py").is_file(), f"{folder} has no __init__.py"
        n = len(list(folder.glob("*.py")))
        assert n <= MAX_MODULES, f"{folder.relative_to(ROOT)} holds {n} modules"


def _raw_imports(path: Path) -> set[str]:
    out = set()
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out.update(a.name for a in node.names)
        elif isinstance(node, ast.ImportFrom) and not node.level and node.module:
            out.add(node.module)
    return out
