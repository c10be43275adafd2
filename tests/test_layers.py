"""The import graph: no circles, and no arrow from a lower layer to a higher one.

Every `import` of a keras_genart module counts, the ones inside functions too (a lazy
import is still an arrow a reader has to follow). docs/design.md draws the layers.
"""

import ast
import os

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The installed package and the folders it is made of (setup.cfg's package_dir).
FOLDERS = {"keras_genart": "keras_genart", "keras_genart.export": "export",
           "keras_genart.serving": "serving"}

# Each package or module and its layer: it may import its own layer and those below.
LAYERS = {
    "keras_genart": 0,  # the package itself: lazy names only
    "keras_genart.errors": 0, "keras_genart._version": 0, "keras_genart._lazy": 0,
    "keras_genart._quiet": 0, "keras_genart.options": 0, "keras_genart.contract": 0,
    "keras_genart.latents": 0,
    "keras_genart.data": 1, "keras_genart.imaging": 1, "keras_genart.pictures": 1,
    "keras_genart.config": 2,
    "keras_genart.backend": 3, "keras_genart.networks": 3, "keras_genart.losses": 3,
    "keras_genart.models": 4,
    "keras_genart.metrics": 5, "keras_genart.callbacks": 5,
    "keras_genart.runs": 6, "keras_genart.artifacts": 6, "keras_genart.export": 6,
    "keras_genart.cli": 7,
    # The TF-free runtime and server read only the exported files: beside the stack, they
    # import nothing above the Keras-free contract (layers 0 and 1).
    "keras_genart.serving": 1,
}


def _modules():
    modules = {}
    for package, folder in FOLDERS.items():
        base = os.path.join(ROOT, folder)
        for path, dirs, files in os.walk(base):
            dirs[:] = [d for d in dirs if d not in ("node_modules", "studio", "__pycache__")]
            for file in files:
                if not file.endswith(".py"):
                    continue
                parts = os.path.relpath(os.path.join(path, file), base)[:-3].split(os.sep)
                if parts[-1] == "__init__":
                    parts = parts[:-1]
                name = ".".join([package, *parts])
                if package == "keras_genart" and parts[:1] in (["export"], ["serving"]):
                    continue
                modules[name] = os.path.join(path, file)
    return modules


def _imports(name, path, modules):
    """The keras_genart modules that the module `name` imports."""
    with open(path) as f:
        tree = ast.parse(f.read())
    found = set()
    package = name if path.endswith("__init__.py") else name.rpartition(".")[0]
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = package.split(".")[:len(package.split(".")) - node.level + 1]
                module = ".".join(base + ([node.module] if node.module else []))
            else:
                module = node.module
            submodules = [f"{module}.{a.name}" for a in node.names
                          if f"{module}.{a.name}" in modules]
            # `from package import submodule` is an arrow to the submodule only.
            found.update(submodules if len(submodules) == len(node.names) else
                         [module, *submodules])
    result = set()
    for module in found:
        if not module or not module.startswith("keras_genart"):
            continue
        while module not in modules and "." in module:
            module = module.rpartition(".")[0]
        if module in modules and module != name:
            result.add(module)
    return result


def _layer_of(module):
    while module not in LAYERS:
        module = module.rpartition(".")[0]
    return module, LAYERS[module]


def _graph():
    modules = _modules()
    return {name: _imports(name, path, modules) for name, path in modules.items()}


def test_every_module_has_a_layer():
    for name in _graph():
        assert _layer_of(name), name


def test_no_import_runs_up_the_layers():
    wrong = []
    for name, imported in _graph().items():
        owner, layer = _layer_of(name)
        for other in imported:
            other_owner, other_layer = _layer_of(other)
            if other_layer > layer and other_owner != owner:
                wrong.append(f"{name} ({layer}) imports {other} ({other_layer})")
    assert not wrong, "\n".join(sorted(wrong))


def _cycles(graph):
    """Tarjan's strongly connected components of more than one node."""
    index, low, stack, on_stack, found = {}, {}, [], set(), []

    def visit(node):
        index[node] = low[node] = len(index)
        stack.append(node)
        on_stack.add(node)
        for other in graph.get(node, ()):
            if other not in index:
                visit(other)
                low[node] = min(low[node], low[other])
            elif other in on_stack:
                low[node] = min(low[node], index[other])
        if low[node] == index[node]:
            component = []
            while True:
                other = stack.pop()
                on_stack.discard(other)
                component.append(other)
                if other == node:
                    break
            if len(component) > 1:
                found.append(sorted(component))

    for node in list(graph):
        if node not in index:
            visit(node)
    return found


def test_no_circles_between_modules_or_between_packages():
    graph = _graph()
    assert _cycles(graph) == []
    packages = {}
    for name, imported in graph.items():
        owner = _layer_of(name)[0]
        packages.setdefault(owner, set()).update(
            _layer_of(other)[0] for other in imported if _layer_of(other)[0] != owner)
    assert _cycles(packages) == []


def test_the_checker_sees_an_upward_import(tmp_path):
    path = tmp_path / "fake.py"
    path.write_text("def f():\n    from keras_genart.runs import train\n")
    modules = {"keras_genart.data.fake": str(path), "keras_genart.runs": ""}
    assert _imports("keras_genart.data.fake", str(path), modules) == {"keras_genart.runs"}
    assert _cycles({"a": {"b"}, "b": {"a"}, "c": {"a"}}) == [["a", "b"]]


def test_no_source_file_is_over_500_lines():
    long = [f"{name}: {sum(1 for _ in open(path))}" for name, path in _modules().items()
            if sum(1 for _ in open(path)) > 500]
    assert not long, long
