"""The install footprint: requirements.txt (what `make run` installs) holds the runtime only, and is enough
for every module the app, the main job and `make demo-chain` import; test and lint tools are in
requirements-dev.txt. Checked against the distributions installed in this environment (their metadata)."""

import ast
import re
import sys
from importlib.metadata import distribution, packages_distributions
from pathlib import Path

from packaging.requirements import Requirement
from packaging.utils import canonicalize_name

ROOT = Path(__file__).resolve().parents[2]
DEV_ONLY = {"pytest", "pytest-django", "pytest-asyncio", "playwright", "eth-tester", "py-evm", "hypothesis",
            "factory-boy", "ruff", "mypy", "django-stubs", "djangorestframework-stubs"}
# Code `make run` and `make demo-chain` run: every app, scripts/ and the chain helper demo-chain imports.
RUNTIME_CODE = ["whaletrack", "whales", "ledgers", "alerts", "trading", "scripts", "tests/chain/anvil.py",
                "manage.py"]


def pinned(path: Path) -> set[str]:
    names = set()
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if line and not line.startswith("-r"):
            names.add(canonicalize_name(Requirement(line).name))
    return names


def closure(names: set[str]) -> set[str]:
    """``names`` and everything they require (unconditional requirements and the extras named in pins)."""
    extras = {canonicalize_name(Requirement(line.split("#")[0]).name): Requirement(line.split("#")[0]).extras
              for line in (ROOT / "requirements.txt").read_text().splitlines() if line.split("#")[0].strip()}
    seen, todo = set(), list(names)
    while todo:
        name = todo.pop()
        if name in seen:
            continue
        seen.add(name)
        for spec in distribution(name).requires or []:
            requirement = Requirement(spec)
            wanted = [{"extra": extra} for extra in extras.get(name, set())] or [{"extra": ""}]
            if requirement.marker is None or any(requirement.marker.evaluate(env) for env in wanted):
                todo.append(canonicalize_name(requirement.name))
    return seen


def imported_top_level_modules() -> set[str]:
    modules = set()
    for entry in RUNTIME_CODE:
        path = ROOT / entry
        for file in [path] if path.is_file() else path.rglob("*.py"):
            for node in ast.walk(ast.parse(file.read_text())):
                if isinstance(node, ast.Import):
                    modules.update(alias.name.split(".")[0] for alias in node.names)
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    modules.add(node.module.split(".")[0])
    local = {p.name for p in ROOT.iterdir() if p.is_dir()} | {"manage"}
    return {m for m in modules if m not in sys.stdlib_module_names and m not in local}


def test_runtime_requirements_hold_no_test_or_lint_tool():
    runtime = closure(pinned(ROOT / "requirements.txt"))
    assert sorted(runtime & DEV_ONLY) == []
    # A runtime requirement since issue 18: the Hyperliquid adapter and the credentials check import it.
    assert "eth-account" in pinned(ROOT / "requirements.txt")


def test_runtime_requirements_cover_every_module_the_app_imports():
    runtime = closure(pinned(ROOT / "requirements.txt"))
    owners = packages_distributions()
    missing = {module: owners.get(module) for module in imported_top_level_modules()
               if not {canonicalize_name(d) for d in owners.get(module, [])} & runtime}
    assert missing == {}


def test_dev_requirements_include_the_runtime_and_the_tools():
    text = (ROOT / "requirements-dev.txt").read_text()
    assert re.search(r"^-r requirements\.txt$", text, re.M)
    assert sorted(DEV_ONLY - pinned(ROOT / "requirements-dev.txt")) == []
