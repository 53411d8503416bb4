"""The import direction README's "Where things are" promises, checked on every module's imports (AST):

- nothing imports ``whaletrack`` (the composition root imports the apps);
- ``whales`` imports no other app; ``alerts`` only ``whales``; ``ledgers`` only ``whales`` and ``alerts``;
- a ledger app imports no other ledger app, except the exchange ledger's prices (``ledgers.exchange.market``),
  and the shared kit (``ledgers/*.py``) imports no ledger app;
- the replay node (``ledgers.replay``) is offline tooling: only the main job's commands use it;
- no app imports the tests, the tools in ``scripts/`` (``demo_chain.py`` imports ``tests/chain/anvil.py``) or
  the benchmarks.
"""

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
APPS = ("whaletrack", "whales", "ledgers", "alerts", "trading")
ALLOWED = {
    "whaletrack": set(APPS),
    "whales": {"whales"},
    "alerts": {"alerts", "whales"},
    "ledgers": {"ledgers", "whales", "alerts"},
    "trading": {"trading", "whales", "alerts", "ledgers"},
}
LEDGER_APP_DEPTH = 3  # ledgers.<ledger>.<source>
REPLAY_USERS = {"whaletrack.management.commands.run_main", "whaletrack.management.commands.replay_node"}


def modules() -> list[tuple[str, Path]]:
    found = []
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            if "migrations" in path.parts:
                continue
            name = ".".join(path.relative_to(ROOT).with_suffix("").parts)
            found.append((name.removesuffix(".__init__"), path))
    return found


def imported(path: Path) -> set[str]:
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    return {name for name in names if name.split(".")[0] in APPS}


def ledger_app(module: str) -> str | None:
    """``ledgers.glass.ethereum`` for any module inside that app; None for the kit and ledger folders."""
    parts = module.split(".")
    if parts[0] != "ledgers" or len(parts) < LEDGER_APP_DEPTH or parts[1] not in {
            "glass", "human", "catalyst", "exchange"}:
        return None
    return ".".join(parts[:LEDGER_APP_DEPTH])


MODULES = modules()


def test_the_scan_sees_every_app():
    assert {name.split(".")[0] for name, _ in MODULES} == set(APPS)
    assert len(MODULES) > 100


@pytest.mark.parametrize(("module", "path"), MODULES, ids=[name for name, _ in MODULES])
def test_imports_point_the_allowed_way(module, path):
    app = module.split(".")[0]
    wrong = sorted(name for name in imported(path) if name.split(".")[0] not in ALLOWED[app])
    assert wrong == [], f"{module} imports {wrong}"
    own_ledger = ledger_app(module)
    for name in imported(path):
        other = ledger_app(name)
        if other is None or other == own_ledger or other == "ledgers.exchange.market":
            continue
        if module.startswith("ledgers.") and own_ledger is None and module.count(".") == 1:
            pytest.fail(f"the collector kit module {module} imports the ledger app {name}")
        if own_ledger is not None:
            pytest.fail(f"{module} imports another ledger app: {name}")
    if module not in REPLAY_USERS and not module.startswith("ledgers.replay"):
        assert not any(name.startswith("ledgers.replay") for name in imported(path)), module


@pytest.mark.parametrize(("module", "path"), MODULES, ids=[name for name, _ in MODULES])
def test_no_app_imports_the_tests_the_scripts_or_the_benchmarks(module, path):
    names = set()
    for node in ast.walk(ast.parse(path.read_text(), filename=str(path))):
        if isinstance(node, ast.Import):
            names.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.module and node.level == 0:
            names.add(node.module)
    assert sorted(name for name in names if name.split(".")[0] in {"tests", "scripts", "bench"}) == [], module
