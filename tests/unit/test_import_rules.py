"""The layout's import rules (docs/architecture.md), checked on every module's imports.

- the kernel (chalicelib/core) imports no capability;
- adapters (chalicelib/adapters) import no capability;
- a capability uses another one through its services, never its models or its routes;
- boto3 and botocore are imported by adapters only (the kernel's DynamoDB helpers use PynamoDB).
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
KERNEL, ADAPTERS = "core", "adapters"
PRIVATE_TO_A_CAPABILITY = ("models", "api")


def modules() -> list[tuple[str, Path]]:
    found = [("app", ROOT / "app.py")]
    for base in ("chalicelib", "functions"):
        for path in sorted((ROOT / base).rglob("*.py")):
            found.append((".".join(path.relative_to(ROOT).with_suffix("").parts), path))
    return found


def imports_of(path: Path, module: str) -> list[str]:
    names: list[str] = []
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names += [alias.name for alias in node.names]
        elif isinstance(node, ast.ImportFrom):
            if node.level:  # relative: resolve against the importing package
                package = module.split(".")[: -node.level]
                base = ".".join(package + ([node.module] if node.module else []))
            else:
                base = node.module or ""
            # `from chalicelib.orgs import models` imports the module chalicelib.orgs.models.
            names += [f"{base}.{alias.name}" for alias in node.names] + [base]
    return names


def part(name: str) -> str | None:
    """The top-level part of chalicelib a dotted name is in ("core", "orgs", ...), or None."""
    pieces = name.split(".")
    return pieces[1] if len(pieces) > 1 and pieces[0] == "chalicelib" else None


def capabilities() -> set[str]:
    return {p.name for p in (ROOT / "chalicelib").iterdir() if (p / "__init__.py").exists()} - {KERNEL, ADAPTERS}


def violations(checked: list[tuple[str, Path]]) -> list[str]:
    caps = capabilities()
    found = []
    for module, path in checked:
        own = part(module)
        for name in imports_of(path, module):
            target = part(name)
            pieces = name.split(".")
            if name.split(".")[0] in ("boto3", "botocore") and own != ADAPTERS:
                found.append(f"{module} imports {name}: AWS SDK calls belong in chalicelib/adapters")
            if target not in caps:
                continue
            if own in (KERNEL, ADAPTERS):
                found.append(f"{module} imports the capability {name}: the {own} package imports none")
            elif own in caps and target != own and len(pieces) > 2 and pieces[2] in PRIVATE_TO_A_CAPABILITY:
                found.append(f"{module} imports {name}: use the {target} capability through its services")
    return sorted(set(found))


def test_modules_follow_the_import_rules():
    assert violations(modules()) == []


def test_every_capability_is_a_package_with_the_kernel_and_adapters_beside_it():
    assert {"identity", "orgs", "uploads", "video", "realtime"} <= capabilities()
    assert (ROOT / "chalicelib" / KERNEL / "__init__.py").exists()
    assert (ROOT / "chalicelib" / ADAPTERS / "__init__.py").exists()


@pytest.mark.parametrize(
    ("module", "source", "expected"),
    [
        ("chalicelib.core.x", "from chalicelib.orgs import service", "the core package imports none"),
        ("chalicelib.adapters.x", "import chalicelib.video.plan", "the adapters package imports none"),
        ("chalicelib.uploads.x", "from chalicelib.video.models import Video", "through its services"),
        ("chalicelib.uploads.x", "from chalicelib.video import models", "through its services"),
        ("chalicelib.video.x", "from ..orgs.api import bp", "through its services"),
        ("chalicelib.video.x", "import boto3", "belong in chalicelib/adapters"),
    ],
)
def test_the_checker_catches_each_kind_of_violation(tmp_path, module, source, expected):
    # GIVEN a module that breaks one rule
    path = tmp_path / "mod.py"
    path.write_text(source + "\n")
    # WHEN it is checked
    found = violations([(module, path)])
    # THEN the checker reports it
    assert any(expected in v for v in found), found
