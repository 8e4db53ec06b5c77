"""The layering of DESIGN.md, read from the imports: no module imports a floor above its own.

From the bottom: the store; outgoing HTTP (`net`); media; federation; the actions; what web and
api share (`edge`); then `web` and `api` side by side, which never import each other."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

SOLO = Path(__file__).resolve().parent.parent / "solo"

# Each package, and the packages of ours it must never import.
FORBIDDEN = {
    "store": {"net", "media", "federation", "actions", "edge", "web", "api"},
    "net": {"store", "media", "federation", "actions", "edge", "web", "api"},
    "media": {"federation", "actions", "edge", "web", "api"},
    "federation": {"actions", "edge", "web", "api"},
    "actions": {"edge", "web", "api"},
    "edge": {"actions", "web", "api"},
    "web": {"api"},
    "api": {"web"},
}


def imported_packages(path: Path) -> set[str]:
    """The packages of ours (`solo.<name>` folders) a module imports, at any depth."""
    found = set()
    for node in ast.walk(ast.parse(path.read_text(), str(path))):
        names: list[str] = []
        if isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names = [node.module, *(f"{node.module}.{alias.name}" for alias in node.names)]
        elif isinstance(node, ast.Import):
            names = [alias.name for alias in node.names]
        for name in names:
            parts = name.split(".")
            if parts[0] == "solo" and len(parts) > 1 and (SOLO / parts[1]).is_dir():
                found.add(parts[1])
    return found


@pytest.mark.parametrize("package", sorted(FORBIDDEN))
def test_no_import_climbs_a_floor(package: str) -> None:
    climbs = [
        f"{path.relative_to(SOLO.parent)} imports solo.{above}"
        for path in sorted((SOLO / package).rglob("*.py"))
        for above in sorted(imported_packages(path) & FORBIDDEN[package])
    ]
    assert not climbs, "\n".join(climbs)


def test_every_package_has_its_floor() -> None:
    packages = {path.name for path in SOLO.iterdir() if (path / "__init__.py").is_file()}
    assert packages == set(FORBIDDEN)
