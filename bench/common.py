"""Helpers every benchmark shares: printing a figure, process memory (RSS, peak, reset of the peak),
percentiles, and a throw-away PostgreSQL database with Django set up on it.

No Django import at module level: the memory benchmarks measure processes that never load Django.
"""

import os
import resource
import sys
from pathlib import Path
from urllib.parse import unquote, urlsplit

ROOT = Path(__file__).resolve().parent.parent


def figure(name: str, value: float | int | str, unit: str = "") -> None:
    """Print one figure as ``name: value unit``."""
    text = f"{value:.2f}" if isinstance(value, float) else str(value)
    print(f"{name}: {text} {unit}".rstrip(), flush=True)


def percentile(samples: list[float], q: float) -> float:
    """The ``q``-th percentile (0-100) of ``samples``, nearest rank."""
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def _status_kb(key: str) -> int:
    with open("/proc/self/status", encoding="ascii") as handle:
        for line in handle:
            if line.startswith(key + ":"):
                return int(line.split()[1])
    return 0


def rss_mb() -> float:
    """Current resident set size (VmRSS) of this process in MB."""
    return _status_kb("VmRSS") / 1024


def hwm_mb() -> float:
    """Peak resident set size since start or the last reset (VmHWM) in MB."""
    return _status_kb("VmHWM") / 1024


def maxrss_mb() -> float:
    """Lifetime peak RSS of this process (getrusage ru_maxrss, KB on Linux) in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def reset_hwm() -> bool:
    """Reset VmHWM to the current RSS (``5`` > /proc/self/clear_refs); False when not permitted."""
    try:
        with open("/proc/self/clear_refs", "w", encoding="ascii") as handle:
            handle.write("5")
    except OSError:
        return False
    return True


def database_recreate(url: str) -> None:
    """Drop and create the database named in ``url`` through the ``postgres`` maintenance database.

    Raises: SystemExit when ``url`` is not PostgreSQL or the name lacks "bench" (never drops a real one)."""
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    if parts.scheme not in ("postgres", "postgresql", "pgsql"):
        raise SystemExit(f"DATABASE_URL must be PostgreSQL, not {parts.scheme!r}")
    name = unquote(parts.path.lstrip("/"))
    if "bench" not in name:
        raise SystemExit(f"refusing to drop database {name!r}: its name must contain 'bench'")
    conninfo = {"host": parts.hostname or "127.0.0.1", "port": parts.port or 5432,
                "user": unquote(parts.username or "postgres"), "dbname": "postgres"}
    if parts.password:
        conninfo["password"] = unquote(parts.password)
    with psycopg.connect(**conninfo, autocommit=True) as conn:
        conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name)))
        conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def django_setup(url: str) -> None:
    """Point Django at ``url`` (DEBUG off) and set it up."""
    if str(ROOT) not in sys.path:
        sys.path.insert(0, str(ROOT))
    os.environ["DATABASE_URL"] = url
    os.environ["DJANGO_DEBUG"] = "false"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "whaletrack.settings")
    import django

    django.setup()
