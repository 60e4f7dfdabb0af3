"""The layering rules that code review would otherwise have to remember, checked from the source.

The import graph of ``generations`` is built with ``ast`` (nothing is imported): an edge for
every import that runs when its module is loaded, i.e. outside function bodies and outside
``if TYPE_CHECKING:``. Relative imports are resolved against the importing module's package;
``from . import x`` is an edge to ``generations.<package>.x`` when ``x`` is a module or package,
and to the package's ``__init__`` otherwise.
"""
from __future__ import annotations

import ast
import re
from pathlib import Path

APP = "generations"
ROOT = Path(__file__).resolve().parent.parent / APP
# Comments that silence a tool are not reasons.
PRAGMA = re.compile(r"^\s*(noqa|type:|pragma|fmt:|isort:)", re.IGNORECASE)


def _module_name(path: Path, root: Path = ROOT) -> str:
    parts = path.relative_to(root.parent).with_suffix("").parts
    return ".".join(parts[:-1] if parts[-1] == "__init__" else parts)


def _app_sources(root: Path = ROOT) -> dict[str, Path]:
    return {
        _module_name(path, root): path
        for path in sorted(root.rglob("*.py"))
        if "migrations" not in path.relative_to(root).parts
    }


MODULES = _app_sources()


def _package_of(module: str, path: Path) -> str:
    return module if path.name == "__init__.py" else module.rpartition(".")[0]


def _targets(node: ast.Import | ast.ImportFrom, module: str, path: Path,
             modules: dict[str, Path] = MODULES) -> list[str]:
    """The app modules an import statement loads (modules outside the app are left out)."""
    if isinstance(node, ast.Import):
        names = [alias.name for alias in node.names]
        return [name for name in names if name in modules]
    if node.level:
        package = _package_of(module, path)
        for _ in range(node.level - 1):
            package = package.rpartition(".")[0]
        base = f"{package}.{node.module}" if node.module else package
    else:
        base = node.module or ""
    if base != APP and not base.startswith(APP + "."):
        return []
    found = []
    for alias in node.names:
        submodule = f"{base}.{alias.name}"
        if submodule in modules:
            found.append(submodule)
        elif base in modules:
            found.append(base)
    return sorted(set(found))


def _is_type_checking(node: ast.If) -> bool:
    test = node.test
    return (isinstance(test, ast.Name) and test.id == "TYPE_CHECKING") or (
        isinstance(test, ast.Attribute) and test.attr == "TYPE_CHECKING"
    )


def _walk(tree: ast.AST, *, in_function: bool = False):
    """Yield (import node, whether it sits in a function body), skipping ``if TYPE_CHECKING:``."""
    for child in ast.iter_child_nodes(tree):
        if isinstance(child, ast.If) and _is_type_checking(child):
            for sub in child.orelse:
                yield from _walk(ast.Module(body=[sub], type_ignores=[]), in_function=in_function)
            continue
        if isinstance(child, ast.Import | ast.ImportFrom):
            yield child, in_function
        nested = in_function or isinstance(child, ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda)
        yield from _walk(child, in_function=nested)


def import_graph(*, with_local: bool = False, modules: dict[str, Path] = MODULES) -> dict[str, set[str]]:
    """Module → the app modules it imports at load time (``with_local``: in function bodies too)."""
    graph: dict[str, set[str]] = {}
    for module, path in modules.items():
        edges = graph.setdefault(module, set())
        for node, in_function in _walk(ast.parse(path.read_text(), filename=str(path))):
            if with_local or not in_function:
                edges.update(t for t in _targets(node, module, path, modules) if t != module)
    return graph


def package_of(module: str) -> str:
    """A subpackage of the app is one node (``generations.services``); a top-level module is its own."""
    return ".".join(module.split(".")[:2])


def package_graph(graph: dict[str, set[str]]) -> dict[str, set[str]]:
    packages: dict[str, set[str]] = {}
    for module, edges in graph.items():
        here = package_of(module)
        packages.setdefault(here, set()).update(package_of(e) for e in edges if package_of(e) != here)
    return packages


def _below(*names: str) -> tuple[str, ...]:
    return tuple(f"{APP}.{name}" for name in names)


#: A lower layer → the layers above it that it must never import, even inside a function.
NEVER_IMPORTS: dict[str, tuple[str, ...]] = {
    f"{APP}.gmi": _below("models", "services", "selectors", "api", "views", "admin", "forms", "tasks", "queue"),
    # Outbound HTTP sits below gmi (which sends its upload PUT through it) and knows no Django model.
    f"{APP}.net": _below("gmi", "models", "services", "selectors", "api", "views", "admin", "forms", "tasks", "queue"),
    f"{APP}.services": _below("api", "views", "admin", "forms", "tasks", "management", "templatetags"),
    f"{APP}.representation": _below("services", "api", "views", "admin", "forms", "tasks"),
    f"{APP}.selectors": _below("services", "api", "views", "admin", "forms", "tasks"),
}


def layer_of(module: str) -> str:
    """The layer a module belongs to: its package, except that every ``*_models`` module is of ``models``."""
    package = package_of(module)
    return f"{APP}.models" if package.endswith("_models") else package


def upward_imports(graph: dict[str, set[str]]) -> list[str]:
    found = []
    for module, edges in sorted(graph.items()):
        forbidden = NEVER_IMPORTS.get(package_of(module), ())
        found += [f"{module} -> {e}" for e in sorted(edges) if layer_of(e) in forbidden]
    return found


#: Modules that import nothing of the app, not even inside a function, and why.
IMPORT_NOTHING_OF_THE_APP: dict[str, str] = {
    # The bottom hand-off to django-q2: tasks are named by their dotted path, so every layer may call it.
    f"{APP}.queue": "tasks are enqueued by name",
}


def imports_below_the_bottom(graph: dict[str, set[str]]) -> list[str]:
    return [f"{module} -> {e}" for module in sorted(IMPORT_NOTHING_OF_THE_APP) for e in sorted(graph.get(module, ()))]


#: Packages that know no Django database layer at all (the app's models are covered by ``NEVER_IMPORTS``).
NO_ORM = (f"{APP}.net",)
ORM = re.compile(r"^django\.(db|contrib\.\w+\.models)(\.|$)")


def orm_imports(modules: dict[str, Path] = MODULES) -> list[str]:
    """Imports of Django's database layer (anywhere, functions included) from a package in ``NO_ORM``."""
    found = []
    for module, path in modules.items():
        if package_of(module) not in NO_ORM:
            continue
        for node, _ in _walk(ast.parse(path.read_text(), filename=str(path))):
            if isinstance(node, ast.Import):
                names = [alias.name for alias in node.names if ORM.match(alias.name)]
            elif node.level:
                continue  # a relative import stays in the app, where NEVER_IMPORTS speaks
            else:
                base = node.module or ""  # ``from django.db import x`` is one import of django.db
                names = [base] if ORM.match(base) else [
                    f"{base}.{alias.name}" for alias in node.names if ORM.match(f"{base}.{alias.name}")]
            found += [f"{module} -> {name}" for name in names]
    return found


def find_cycle(graph: dict[str, set[str]]) -> list[str] | None:
    """One import cycle (first module repeated at the end), or None. Depth-first, three colours."""
    WHITE, GREY, BLACK = 0, 1, 2
    colour = dict.fromkeys(graph, WHITE)
    stack: list[str] = []

    def visit(node: str) -> list[str] | None:
        colour[node] = GREY
        stack.append(node)
        for nxt in sorted(graph.get(node, ())):
            if colour.get(nxt, BLACK) == GREY:
                return stack[stack.index(nxt):] + [nxt]
            if colour.get(nxt) == WHITE:
                cycle = visit(nxt)
                if cycle:
                    return cycle
        stack.pop()
        colour[node] = BLACK
        return None

    for start in sorted(graph):
        if colour[start] == WHITE:
            cycle = visit(start)
            if cycle:
                return cycle
    return None


def _reason(text: str) -> bool:
    _, hash_, comment = text.partition("#")
    return bool(hash_ and comment.strip() and not PRAGMA.match(comment))


def _has_reason(lines: list[str], lineno: int) -> bool:
    """A comment on the import's line, or on the line above it (or above the run of imports it ends)."""
    if _reason(lines[lineno - 1]):
        return True
    above = lineno - 2
    while above >= 0 and lines[above].strip().startswith(("from ", "import ")):
        above -= 1
    return above >= 0 and lines[above].strip().startswith("#") and _reason(lines[above])


def unexplained_local_imports() -> list[str]:
    found = []
    for module, path in MODULES.items():
        source = path.read_text()
        lines = source.splitlines()
        for node, in_function in _walk(ast.parse(source, filename=str(path))):
            if in_function and _targets(node, module, path) and not _has_reason(lines, node.lineno):
                found.append(f"{path.relative_to(ROOT.parent)}:{node.lineno}: {lines[node.lineno - 1].strip()}")
    return found


def test_the_app_has_no_import_cycles():
    cycle = find_cycle(import_graph())
    assert cycle is None, "import cycle: " + " -> ".join(cycle or [])


def test_the_app_has_no_import_cycles_between_packages():
    # services -> api -> services is no cycle between modules yet still ties the two packages together.
    cycle = find_cycle(package_graph(import_graph()))
    assert cycle is None, "package import cycle: " + " -> ".join(cycle or [])


def test_no_lower_layer_imports_a_layer_above_it():
    found = upward_imports(import_graph(with_local=True))
    assert not found, "imports of an upper layer from a lower one:\n" + "\n".join(found)


def test_the_queue_hand_off_imports_nothing_of_the_app():
    found = imports_below_the_bottom(import_graph(with_local=True))
    assert not found, "imports of the app from a module that must import none:\n" + "\n".join(found)


def test_outbound_http_knows_no_database_layer():
    found = orm_imports()
    assert not found, "imports of Django's database layer from outbound HTTP:\n" + "\n".join(found)


def test_the_package_check_sees_a_cycle_the_module_check_misses():
    graph = {f"{APP}.services.webhooks": {f"{APP}.api.serializers"}, f"{APP}.api.serializers": {f"{APP}.services.x"},
             f"{APP}.services.x": set()}
    assert find_cycle(graph) is None
    assert find_cycle(package_graph(graph)) == [f"{APP}.api", f"{APP}.services", f"{APP}.api"]
    assert upward_imports(graph) == [f"{APP}.services.webhooks -> {APP}.api.serializers"]


def test_every_function_local_import_of_the_app_says_why():
    found = unexplained_local_imports()
    assert not found, "function-local imports of app modules without a comment saying why:\n" + "\n".join(found)


def test_the_cycle_finder_finds_a_cycle_and_names_it():
    graph = {"a": {"b"}, "b": {"c"}, "c": {"a"}, "d": {"a"}}
    assert find_cycle(graph) == ["a", "b", "c", "a"]
    assert find_cycle({"a": {"b"}, "b": set()}) is None


def test_relative_imports_resolve_to_modules_and_packages():
    graph = import_graph()
    # ``from .lifecycle import transition`` and ``from ..models import Generation``
    assert "generations.services.lifecycle" in graph["generations.services.submissions"]
    assert "generations.models" in graph["generations.services.submissions"]
    # ``from ..gmi import schema``: a package, resolved to its __init__
    assert "generations.gmi.schema" in graph["generations.services.submissions"]
    # ``from . import catalogue``: a sibling module named in the import list
    assert "generations.services.catalogue" in graph["generations.services.submissions"]


def test_quotas_is_a_ledger_below_the_lifecycle():
    graph = import_graph()
    assert "generations.services.lifecycle" not in graph["generations.services.quotas"]
    assert "generations.services.quotas" in graph["generations.services.lifecycle"]
    # Counters and ledger rows only: the announcements of crossed thresholds are quota_alerts'.
    assert not {e for e in graph["generations.services.quotas"] if e.startswith(("generations.services.webhooks",
                                                                                "generations.services.notifications"))}


def test_gmi_layer_imports_neither_models_nor_services():
    graph = import_graph()
    for module, edges in graph.items():
        if module.startswith(f"{APP}.gmi."):
            bad = {e for e in edges if e == f"{APP}.models" or e.startswith(f"{APP}.services")}
            assert not bad, f"{module} imports {sorted(bad)}"


#: Exceptions of the app that stand outside its root, and why.
OUTSIDE_THE_ROOT = {
    # A wrong setting must not be swallowed by a handler meant for a refused request.
    "generations.gmi.errors.GMIConfigurationError",
    # DRF's permission machinery raises and answers it; it must stay DRF's PermissionDenied.
    "generations.api.authentication.TokenScopeDenied",
}


def exception_classes() -> dict[str, type[BaseException]]:
    """Every exception class the app defines, by dotted name (the modules are imported)."""
    import importlib
    import inspect

    found: dict[str, type[BaseException]] = {}
    for module_name in MODULES:
        module = importlib.import_module(module_name)
        for name, value in vars(module).items():
            if inspect.isclass(value) and issubclass(value, BaseException) and value.__module__ == module_name:
                found[f"{module_name}.{name}"] = value
    return found


def test_every_exception_of_the_app_derives_from_its_root():
    from generations.exceptions import GenerationError

    classes = exception_classes()
    outside = sorted(name for name, cls in classes.items()
                     if not issubclass(cls, GenerationError) and name not in OUTSIDE_THE_ROOT)
    assert not outside, "exceptions outside GenerationError:\n" + "\n".join(outside)
    for name in OUTSIDE_THE_ROOT:
        assert name in classes and not issubclass(classes[name], GenerationError), name
    assert {"generations.gmi.errors.GMIError", "generations.net.errors.DownloadError",
            "generations.media.MediaInvalid"} <= set(classes)


def test_the_configuration_error_stands_outside_the_root():
    from django.core.exceptions import ImproperlyConfigured

    from generations.exceptions import GenerationError
    from generations.gmi.errors import GMIConfigurationError

    assert issubclass(GMIConfigurationError, ImproperlyConfigured)
    assert not issubclass(GMIConfigurationError, GenerationError)


def test_the_root_of_the_errors_imports_no_layer_of_the_app():
    graph = import_graph(with_local=True)
    assert graph[f"{APP}.exceptions"] <= {f"{APP}.metrics"}
    assert graph[f"{APP}.metrics"] == set()


def _plant(root: Path, files: dict[str, str]) -> dict[str, Path]:
    """A throwaway copy of the app's shape: ``files`` maps paths under ``generations/`` to their source."""
    app = root / APP
    for name, source in {"__init__.py": "", **files}.items():
        path = app / name
        path.parent.mkdir(parents=True, exist_ok=True)
        (path.parent / "__init__.py").touch()
        path.write_text(source)
    return _app_sources(app)


def test_the_checks_catch_a_package_circle_and_an_upward_import_planted_in_source(tmp_path):
    # The webhook body built by the API's serializer, which itself reads a service: no module
    # cycle, but services and api tie each other's packages, and services reach up.
    modules = _plant(tmp_path, {
        "services/webhooks.py": "from ..api.serializers import body\n",
        "services/waiting_line.py": "def positions():\n    return {}\n",
        "api/serializers.py": "from ..services.waiting_line import positions\n\nbody = positions\n",
    })
    graph = import_graph(modules=modules)
    assert find_cycle(graph) is None
    assert find_cycle(package_graph(graph)) == [f"{APP}.api", f"{APP}.services", f"{APP}.api"]
    assert upward_imports(import_graph(with_local=True, modules=modules)) == [
        f"{APP}.services.webhooks -> {APP}.api.serializers"]


def test_the_checks_see_an_upward_import_hidden_in_a_function(tmp_path):
    modules = _plant(tmp_path, {
        "selectors.py": "def read():\n    from .views import page\n    return page\n",
        "views/__init__.py": "",
        "views/page.py": "page = 1\n",
    })
    assert not upward_imports(import_graph(modules=modules))
    assert upward_imports(import_graph(with_local=True, modules=modules)) == [f"{APP}.selectors -> {APP}.views.page"]


def test_the_checks_see_the_queue_hand_off_reach_into_the_app(tmp_path):
    modules = _plant(tmp_path, {
        "queue.py": "from django_q.tasks import async_task\n\n\ndef enqueue():\n"
                    "    from .models import Generation  # planted\n    return async_task, Generation\n",
        "models.py": "Generation = object\n",
    })
    assert imports_below_the_bottom(import_graph(modules=modules)) == []  # only inside a function
    assert imports_below_the_bottom(import_graph(with_local=True, modules=modules)) == [
        f"{APP}.queue -> {APP}.models"]


def test_the_checks_see_outbound_http_reach_a_model_a_service_or_the_orm(tmp_path):
    modules = _plant(tmp_path, {
        "net/send.py": "from ..webhook_models import WebhookDelivery\n",
        "net/policy.py": "def allowed():\n    from ..services import hosts  # planted\n    return hosts\n",
        "net/download.py": "import urllib3\nfrom django.db import transaction\n",
        "net/transport.py": "from django.contrib.auth.models import User\nfrom django.conf import settings\n",
        "net/errors.py": "from ..exceptions import GenerationError\n",
        "webhook_models.py": "WebhookDelivery = object\n",
        "exceptions.py": "GenerationError = Exception\n",
        "services/hosts.py": "",
    })
    assert upward_imports(import_graph(with_local=True, modules=modules)) == [
        f"{APP}.net.policy -> {APP}.services.hosts", f"{APP}.net.send -> {APP}.webhook_models"]
    assert orm_imports(modules) == [f"{APP}.net.download -> django.db",
                                    f"{APP}.net.transport -> django.contrib.auth.models"]


#: Longest a module of the app may grow, in lines.
MAX_MODULE_LINES = 500

#: Modules allowed over ``MAX_MODULE_LINES``, each with the one concept it holds. An entry goes
#: once its module is back under the limit (the test below says when).
LONG_MODULES: dict[str, str] = {}


def _lines(path: Path) -> int:
    return len(path.read_text().splitlines())


def long_modules(modules: dict[str, Path] = MODULES) -> dict[str, int]:
    return {module: _lines(path) for module, path in modules.items() if _lines(path) > MAX_MODULE_LINES}


def test_no_module_is_over_the_limit_unless_it_holds_one_named_concept():
    found = {module: n for module, n in long_modules().items() if module not in LONG_MODULES}
    assert not found, f"modules over {MAX_MODULE_LINES} lines (split by job, or name the one concept in " \
        f"LONG_MODULES): {found}"


def test_the_long_module_list_names_only_modules_still_over_the_limit():
    stale = sorted(set(LONG_MODULES) - set(long_modules()))
    assert not stale, f"no longer over {MAX_MODULE_LINES} lines, so off LONG_MODULES: {stale}"


def test_the_size_check_sees_a_planted_long_module(tmp_path):
    modules = _plant(tmp_path, {"big.py": "x = 1\n" * (MAX_MODULE_LINES + 1), "small.py": "x = 1\n"})
    assert long_modules(modules) == {f"{APP}.big": MAX_MODULE_LINES + 1}
