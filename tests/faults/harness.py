"""Helpers of the fault suite: a scripted chain to collect, a clone of the test database for the clean run,
the whole database state to compare, and a client of ``collector_driver`` (the fork server)."""

import os
import random
import select
import signal
import subprocess
import sys
import time
from collections.abc import Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from decimal import Decimal
from pathlib import Path

import psycopg
from django.db import connection

from tests.processes import BASE_DIR

# Columns our clock or a sequence fills: they differ between two runs of the same input by design.
# (Surrogate ids: a killed batch's rolled-back inserts still used up sequence values.) Publication is
# compared as published or not, below.
VOLATILE_SUFFIXES = ("_at", "_since")
VOLATILE_COLUMNS = {"id", "duration_ms"}
# The run log records every attempt (a killed run stays "running"): what differs there is the point.
SKIPPED_TABLES = {"ledgers_collectorrun", "django_session", "django_admin_log"}
ETH_PRICE_USD = Decimal("3000")


@dataclass
class ScriptedChain:
    """What was put on the anvil chain: blocks [first, last], the whales' addresses and the transfers
    (tx hashes) that touch a whale."""

    first: int
    last: int
    whales: list[str]
    transfers: list[str] = field(default_factory=list)


def chain_script(chain, *, seed: int, transfers: int, gap_blocks: int) -> ScriptedChain:
    """Send ``transfers`` seeded ETH transfers between four whales and two other accounts of ``chain``, each
    followed by ``gap_blocks`` empty blocks (so a run spans many batches). Values 1-200 ETH: at
    ETH_PRICE_USD many pass the large-transfer threshold (events), the rest are trades only."""
    rng = random.Random(seed)
    whales, others = chain.accounts[1:5], chain.accounts[5:7]
    first = chain.head() + 1
    script = ScriptedChain(first=first, last=first, whales=whales)
    for _ in range(transfers):
        sender = rng.choice(whales)
        to = rng.choice([a for a in whales + others if a != sender])
        receipt = chain.send_eth(sender=sender, to=to, value_wei=rng.randint(1, 200) * 10**18)
        script.transfers.append(receipt["transactionHash"].to_0x_hex())
        chain.mine(gap_blocks)
    script.last = chain.head()
    return script


def world_create(script: ScriptedChain) -> None:
    """The whales of ``script`` and an ETH price for today (the chain's blocks are stamped now)."""
    from ledgers.exchange.market.models import Asset, PriceHistory
    from whales.models import Whale

    for n, address in enumerate(script.whales):
        Whale.objects.create(chain="ethereum", address=address, name=f"fault whale {n}")
    eth = Asset.objects.get(chain="ethereum", contract_address="")
    today = datetime.now(tz=UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    PriceHistory.objects.create(asset=eth, timestamp=today, price_usd=ETH_PRICE_USD)


def _admin_dsn() -> str:
    db = connection.settings_dict
    return (f"host={db['HOST'] or '127.0.0.1'} port={db['PORT'] or 5432} user={db['USER']} dbname=postgres"
            + (f" password={db['PASSWORD']}" if db["PASSWORD"] else ""))


def dsn(name: str) -> str:
    """libpq connection string of database ``name`` on the test server."""
    return _admin_dsn().replace("dbname=postgres", f"dbname={name}")


def url(name: str) -> str:
    """postgres:// URL of database ``name`` on the test server (for the children's DATABASE_URL)."""
    db = connection.settings_dict
    credentials = db["USER"] + (f":{db['PASSWORD']}" if db["PASSWORD"] else "")
    return f"postgres://{credentials}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}/{name}"


@contextmanager
def database_clone(suffix: str) -> Iterator[str]:
    """A copy of the test database as it stands now (``CREATE DATABASE ... TEMPLATE``), dropped on exit;
    yields its name. Django's connection is closed first (a template must have no other sessions)."""
    source = connection.settings_dict["NAME"]
    name = f"{source}_{suffix}"
    connection.close()
    with psycopg.connect(_admin_dsn(), autocommit=True) as admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}"')
        admin.execute(f'CREATE DATABASE "{name}" TEMPLATE "{source}"')
    try:
        yield name
    finally:
        with psycopg.connect(_admin_dsn(), autocommit=True) as admin:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _column_value(column: str) -> str:
    """The SQL expression ``database_state`` compares for ``column``: its text, whether it is set for
    ``published_at``, and a trade's natural key for a column naming a trade by its surrogate id."""
    if column == "published_at":
        return '("published_at" IS NULL)::text'
    if column.endswith("trade_id"):
        natural_key = "concat_ws(':', t.chain, t.tx_hash, t.log_index, t.whale_id, t.direction)"
        return f'(SELECT {natural_key} FROM whales_trade t WHERE t.id = "{column}")'  # noqa: S608  (catalogue name)
    return f'"{column}"::text'


def database_state(name: str, *, ignored: Mapping[str, Collection[str]] | None = None) -> dict[str, list[tuple]]:
    """Every table of database ``name`` (but SKIPPED_TABLES) as its sorted rows, without the volatile
    columns and the ``ignored`` ones ({table: column names}, for a test that compares those its own way); a
    ``published_at`` column is kept as published or not, a trade's surrogate id (``*trade_id``) as the
    trade's natural key. Values as text (exact decimals)."""
    ignored = ignored or {}
    state: dict[str, list[tuple]] = {}
    with psycopg.connect(dsn(name)) as db:
        tables = [row[0] for row in db.execute(
            "SELECT table_name FROM information_schema.tables WHERE table_schema = 'public' "
            "AND table_type = 'BASE TABLE' ORDER BY table_name")]
        for table in tables:
            if table in SKIPPED_TABLES:
                continue
            columns = [row[0] for row in db.execute(
                "SELECT column_name FROM information_schema.columns WHERE table_schema = 'public' "
                "AND table_name = %s ORDER BY ordinal_position", (table,))]
            kept = [_column_value(c) for c in columns if c not in ignored.get(table, ())
                    and (c == "published_at" or not (c in VOLATILE_COLUMNS or c.endswith(VOLATILE_SUFFIXES)))]
            if not kept:
                continue
            rows = db.execute(f'SELECT {", ".join(kept)} FROM "{table}"').fetchall()  # noqa: S608  (catalogue names)
            state[table] = sorted(rows, key=repr)
    return state


class _ForkServer:
    """A client of one of the suite's fork servers (module ``module`` run with ``arguments``, on database
    ``database``): one command line out, one answer line back; children's stderr goes to ``log``."""

    name = "driver"

    def __init__(self, *, module: str, arguments: list[str], database: str, log: Path,
                 env: dict[str, str]) -> None:
        self.log = log.open("a")
        child_env = {**os.environ, "DATABASE_URL": url(database), "PYTHONUNBUFFERED": "1", **env}
        # Unbuffered: lines are split from self._pending, never from a reader's hidden buffer (select on
        # the pipe cannot see lines a buffered readline already pulled in, e.g. a child's last line and
        # the server's "exit" line arriving together).
        self.process = subprocess.Popen(  # noqa: S603  (our own test script, fixed arguments)
            [sys.executable, "-m", module, *arguments],
            cwd=BASE_DIR, env=child_env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self.log, bufsize=0)
        self._pending = b""

    def _line(self, timeout: float) -> str:
        assert self.process.stdout is not None
        deadline = time.monotonic() + timeout
        while b"\n" not in self._pending:
            ready, _, _ = select.select([self.process.stdout], [], [], max(0.0, deadline - time.monotonic()))
            if not ready:
                raise TimeoutError(f"the {self.name} said nothing within {timeout} s")
            chunk = os.read(self.process.stdout.fileno(), 4096)
            if not chunk:
                raise RuntimeError(f"the {self.name} exited with {self.process.wait()}")
            self._pending += chunk
        line, self._pending = self._pending.split(b"\n", 1)
        return line.decode().strip()

    def _send(self, command: str) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(command.encode() + b"\n")

    def _start(self, command: str) -> int:
        self._send(command)
        word, pid = self._line(60).split()
        assert word == "pid", word
        return int(pid)

    def outcome(self, timeout: float) -> int | None:
        """The child's exit code once it has ended, or None if it is still running after ``timeout`` s."""
        try:
            line = self._line(timeout)
        except TimeoutError:
            return None
        word, code = line.split()
        assert word == "exit", line
        return int(code)

    def kill_after(self, pid: int, delay_s: float) -> str:
        """Wait up to ``delay_s`` for child ``pid`` (just started) to end, else SIGKILL it; how it ended:
        "killed", "finished" (exit 0) or "exit <code>"."""
        code = self.outcome(delay_s)
        if code is None:
            os.kill(pid, signal.SIGKILL)
            code = self.outcome(30)
        return {-9: "killed", 0: "finished"}.get(code, f"exit {code}")

    def close(self) -> None:
        if self.process.stdin is not None:
            self.process.stdin.close()
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(timeout=10)
        self.log.close()


class CollectorDriver(_ForkServer):
    """The fork server (``tests/faults/collector_driver.py``) on database ``database``: ``run`` starts one
    collector child and returns its pid; ``outcome`` waits for its exit code; ``settle`` runs the sweeps."""

    name = "collector driver"

    def __init__(self, *, database: str, rpc_url: str, to_block: int, log: Path, task: bool = False,
                 env: dict[str, str] | None = None) -> None:
        super().__init__(
            module="tests.faults.collector_driver",
            arguments=["--rpc-url", rpc_url, "--to-block", str(to_block), *(("--task",) if task else ())],
            database=database, log=log, env={"ETH_RPC_URL": rpc_url, "ETH_CONFIRMATIONS": "0", **(env or {})})

    def run(self) -> int:
        """Start a collector child; its pid."""
        return self._start("run")

    def settle(self) -> str:
        """Run the beat's sweeps (events, metrics) in a child; their counts line."""
        self._send("settle")
        line = self._line(120)
        code = self.outcome(120)
        assert code == 0, (line, code)
        return line


class WorkerDriver(_ForkServer):
    """The fork server ``tests/faults/worker_driver.py`` on database ``database``: ``round`` starts one worker
    child doing a round of the worker's work (that module's docstring) and returns its pid; ``outcome`` waits
    for its exit code. The children's broker is in memory; ``env`` adds to their environment."""

    name = "worker driver"

    def __init__(self, *, database: str, log: Path, env: dict[str, str] | None = None) -> None:
        super().__init__(module="tests.faults.worker_driver", arguments=[], database=database, log=log,
                         env={"CELERY_BROKER_URL": "memory://localhost/", **(env or {})})

    def round(self) -> int:
        """Start a worker child; its pid."""
        return self._start("round")


def run_clean(driver: CollectorDriver, *, timeout: float = 300) -> None:
    """One uninterrupted run to the end, then the sweeps."""
    driver.run()
    code = driver.outcome(timeout)
    assert code == 0, f"the clean run ended with {code}"
    driver.settle()


def wait_s(started: float, until: float) -> float:
    """Seconds left until ``started + until`` (never negative)."""
    return max(0.0, started + until - time.monotonic())
