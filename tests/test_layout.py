"""The suite's own layout: shared test code lives in helper modules, never in a test module or a conftest."""
from __future__ import annotations

import ast
from pathlib import Path

TESTS = Path(__file__).resolve().parent


def _imported_modules(path: Path) -> list[str]:
    """Every module ``path`` imports (relative imports resolved against its package)."""
    package = path.relative_to(TESTS.parent).with_suffix("").parts[:-1]
    found = []
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        if isinstance(node, ast.Import):
            found += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            base = list(package[:len(package) - node.level + 1]) if node.level else []
            module = ".".join([*base, *(node.module.split(".") if node.module else [])])
            found.append(module)
            found += [f"{module}.{alias.name}" for alias in node.names]  # ``from pkg import module``
    return found


def _is_test_module_or_conftest(name: str) -> bool:
    if not name.startswith("tests."):
        return False
    last = name.rsplit(".", 1)[-1]
    source = TESTS.parent / (name.replace(".", "/") + ".py")
    return last == "conftest" or (last.startswith("test_") and source.exists())


def test_no_test_module_imports_another_test_module_or_a_conftest():
    offenders = [
        f"{path.relative_to(TESTS.parent)} imports {name}"
        for path in sorted(TESTS.rglob("*.py"))
        for name in _imported_modules(path)
        if _is_test_module_or_conftest(name)
    ]
    assert offenders == [], "move what is shared into tests/helpers/:\n" + "\n".join(offenders)
