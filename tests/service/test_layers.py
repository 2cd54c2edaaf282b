"""The packages of ``service`` import one way, as ``service/__init__.py`` draws them: no
package imports one above it, and nothing below ``actors`` imports ``actors``."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

#: Package -> the packages of ``service`` it may import (besides itself, config, errors and fields).
MAY_IMPORT = {
    "runtime": set(),
    "reports": set(),
    "directory": {"reports"},
    "delivery": {"directory", "reports", "runtime"},
    "scheduling": {"delivery", "directory", "reports", "runtime"},
    "health": {"delivery", "directory", "runtime"},
}


#: The edges: they may import every package of ``service``.
EDGES = {"api", "cli", "console"}


def imported_modules(path: Path) -> set[str]:
    tree = ast.parse(path.read_text(encoding="utf-8"))
    found: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            found.add(node.module)
            found.update(f"{node.module}.{alias.name}" for alias in node.names)
    return found


@pytest.mark.parametrize("package", sorted(MAY_IMPORT))
def test_a_package_of_service_imports_only_the_packages_below_it(package: str) -> None:
    allowed = MAY_IMPORT[package] | {package}
    wrong = []
    for path in sorted((ROOT / "service" / package).glob("*.py")):
        for name in imported_modules(path):
            parts = name.split(".")
            if parts[0] == "actors" or (
                parts[0] == "service"
                and len(parts) > 1
                and parts[1] not in {"config", "errors", "fields"} | allowed
                and parts[1] in set(MAY_IMPORT) | EDGES
            ):
                wrong.append(f"{path.relative_to(ROOT)} imports {name}")
    assert wrong == []


def test_storage_imports_nothing_of_service_or_actors() -> None:
    wrong = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in sorted((ROOT / "storage").rglob("*.py"))
        for name in imported_modules(path)
        if name.split(".")[0] in {"service", "actors"}
    ]
    assert wrong == []


def test_every_package_of_service_is_in_the_table() -> None:
    packages = {path.parent.name for path in (ROOT / "service").glob("*/__init__.py")}
    assert packages == set(MAY_IMPORT) | EDGES


def test_the_console_calls_the_services_not_the_api() -> None:
    # The console and the API both call the service packages (one copy of every rule); the
    # API mounts the console, the console imports nothing of the API.
    wrong = [
        f"{path.relative_to(ROOT)} imports {name}"
        for path in sorted((ROOT / "service" / "console").rglob("*.py"))
        for name in imported_modules(path)
        if name.split(".")[:2] in (["service", "api"], ["service", "cli"])
    ]
    assert wrong == []
