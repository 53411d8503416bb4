"""CoinGecko API v3 answers from real recordings: VCR cassettes and CoinGecko's daily CSV exports.

Source (under the data directory, read in place, found by content):
- every ``*.yaml``/``*.yml`` VCR cassette (``interactions[].request{method, uri}``,
  ``response{status.code, body.string}``) whose request URI is on ``api.coingecko.com`` or
  ``pro-api.coingecko.com``; served verbatim (status and body text exactly as recorded);
- every ``*.csv`` whose header is CoinGecko's export ``snapped_at,price,market_cap,total_volume``
  and whose name starts ``<symbol>-<vs currency>-`` (``eth-usd-max.csv``); the symbol maps to the
  coin id through ``COIN_IDS`` (``eth`` -> ``ethereum``, ``btc`` -> ``bitcoin``). When several files
  hold one coin, the one whose series ends latest (then the longest) is used: with the recordings
  here, ethereum -> ``eth-usd-max.csv`` and bitcoin -> ``btc-usd-max_2010-07-18_to_2026-01-31.csv``.
"""

import csv
import logging
import re
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from urllib.parse import parse_qsl, urlsplit

import yaml

logger = logging.getLogger(__name__)

API_HOSTS = frozenset({"api.coingecko.com", "pro-api.coingecko.com"})
API_PREFIX = "/api/v3/"
CSV_HEADER = ["snapped_at", "price", "market_cap", "total_volume"]
COIN_IDS = {"btc": "bitcoin", "eth": "ethereum"}
# Query parameters that carry credentials, not a question: ignored when matching a recording.
IGNORED_PARAMS = frozenset({"x_cg_demo_api_key", "x_cg_pro_api_key"})
# Comma-separated lists whose order CoinGecko ignores (the answer is keyed by id).
LIST_PARAMS = frozenset({"ids", "vs_currencies"})
DAY_MS = 86_400_000
_NUMBER = re.compile(r"-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?")
NOT_FOUND = b'{"error": "coin not found"}'
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)

RequestKey = tuple[str, tuple[tuple[str, str], ...]]


def request_key(path: str, query: str) -> RequestKey:
    """Normalized ``(path, params)``: path relative to ``/api/v3/`` without slashes at either end,
    parameters sorted (order-insensitive), credentials dropped, ``ids``/``vs_currencies`` lists sorted."""
    params = []
    for name, value in parse_qsl(query, keep_blank_values=True):
        if name in IGNORED_PARAMS:
            continue
        if name in LIST_PARAMS:
            value = ",".join(sorted(v.strip() for v in value.split(",")))
        params.append((name, value))
    return path.strip("/"), tuple(sorted(params))


@dataclass(frozen=True)
class Recorded:
    """One recorded answer: HTTP status and the body bytes exactly as recorded."""

    status: int
    body: bytes


@dataclass(frozen=True)
class DailyRow:
    """One CSV row: ``time_ms`` (00:00 UTC of the day, epoch ms) and the number texts verbatim."""

    time_ms: int
    price: str
    market_cap: str
    total_volume: str


@dataclass
class DailySeries:
    coin_id: str
    vs_currency: str
    path: Path
    rows: list[DailyRow]


@dataclass
class CoinGeckoIndex:
    """Recorded CoinGecko answers. Build with ``CoinGeckoIndex.load(data_dir)``."""

    recorded: dict[RequestKey, Recorded] = field(default_factory=dict)
    series: dict[str, DailySeries] = field(default_factory=dict)

    @classmethod
    def load(cls, data_dir: Path) -> "CoinGeckoIndex":
        """Index cassettes and daily CSVs under ``data_dir``. Raises: nothing (bad files are skipped)."""
        index = cls()
        root = Path(data_dir)
        for path in sorted([*root.rglob("*.yaml"), *root.rglob("*.yml")]):
            index._add_cassette(path)
        for path in sorted(root.rglob("*.csv")):
            index._add_csv(path)
        return index

    def _add_cassette(self, path: Path) -> None:
        try:
            text = path.read_text(encoding="utf-8")
            # Cheap pre-check: only VCR cassettes with a CoinGecko request are worth a YAML parse.
            if "coingecko.com/api/v3/" not in text or not re.search(r"^interactions:", text, re.MULTILINE):
                return
            doc = yaml.load(text, Loader=_YAML_LOADER)  # noqa: S506 - a safe loader (C or pure Python)
            interactions = doc["interactions"]
            for item in interactions:
                request, response = item["request"], item["response"]
                url = urlsplit(request["uri"])
                if request.get("method", "GET").upper() != "GET" or url.hostname not in API_HOSTS:
                    continue
                if not url.path.startswith(API_PREFIX):
                    continue
                body = response["body"]["string"]
                body_bytes = body.encode() if isinstance(body, str) else bytes(body)
                key = request_key(url.path[len(API_PREFIX):], url.query)
                self.recorded.setdefault(key, Recorded(int(response["status"]["code"]), body_bytes))
        except (OSError, UnicodeDecodeError, yaml.YAMLError, KeyError, TypeError, ValueError) as exc:
            logger.warning("replay.coingecko.bad_cassette", extra={"path": str(path), "error": str(exc)})

    def _add_csv(self, path: Path) -> None:
        match = re.match(r"([a-z0-9]+)-([a-z]+)-", path.name.lower())
        if match is None or match.group(1) not in COIN_IDS:
            return
        try:
            with path.open(newline="", encoding="utf-8") as fh:
                reader = csv.reader(fh)
                if next(reader, None) != CSV_HEADER:
                    return
                rows = [_row(line) for line in reader if line]
        except (OSError, UnicodeDecodeError, ValueError, IndexError) as exc:
            logger.warning("replay.coingecko.bad_csv", extra={"path": str(path), "error": str(exc)})
            return
        if not rows:
            return
        rows.sort(key=lambda r: r.time_ms)
        coin_id = COIN_IDS[match.group(1)]
        known = self.series.get(coin_id)
        if known is None or (rows[-1].time_ms, len(rows)) > (known.rows[-1].time_ms, len(known.rows)):
            self.series[coin_id] = DailySeries(coin_id, match.group(2), path, rows)

    def answer(self, path: str, query: str) -> Recorded:
        """Answer ``GET /api/v3/<path>?<query>``: a recording, a derived market chart, else 404.

        Shape of 404 and 400 bodies: CoinGecko's ``{"error": "..."}``.
        """
        key = request_key(path, query)
        found = self.recorded.get(key)
        if found is not None:
            return found
        parts = key[0].split("/")
        if len(parts) == 3 and parts[0] == "coins" and parts[2] == "market_chart":
            return self.market_chart(parts[1], dict(key[1]))
        return Recorded(404, NOT_FOUND)

    def market_chart(self, coin_id: str, params: dict[str, str]) -> Recorded:
        """``coins/{id}/market_chart?vs_currency=usd&days=N`` derived from the daily CSV.

        Shape: ``{"prices": [[time_ms, price], ...], "market_caps": [...], "total_volumes": [...]}``,
        one point per recorded day from (last day - N days) to the last day, both included (the
        series' own last day stands for "now": it is a recording); ``days=max`` = the whole series.
        Units: time_ms = epoch milliseconds of 00:00 UTC; values in the CSV's vs currency (USD).
        The CSV's number texts are written verbatim (never through float); an empty cell is null.
        Errors: 404 ``coin not found``; 400 for a missing/invalid ``vs_currency`` or ``days``.
        """
        series = self.series.get(coin_id)
        if series is None:
            return Recorded(404, NOT_FOUND)
        for name in ("vs_currency", "days"):
            if not params.get(name):
                return Recorded(400, f'{{"error": "Missing parameter {name}"}}'.encode())
        if params["vs_currency"].lower() != series.vs_currency:
            return Recorded(400, b'{"error": "invalid vs_currency"}')
        rows = series.rows
        if params["days"] != "max":
            try:
                days = int(params["days"])
            except ValueError:
                return Recorded(400, b'{"error": "invalid days"}')
            if days < 0:
                return Recorded(400, b'{"error": "invalid days"}')
            start = rows[-1].time_ms - days * DAY_MS
            rows = [r for r in rows if r.time_ms >= start]
        prices = ",".join(f"[{r.time_ms},{_json_number(r.price)}]" for r in rows)
        caps = ",".join(f"[{r.time_ms},{_json_number(r.market_cap)}]" for r in rows)
        volumes = ",".join(f"[{r.time_ms},{_json_number(r.total_volume)}]" for r in rows)
        body = f'{{"prices":[{prices}],"market_caps":[{caps}],"total_volumes":[{volumes}]}}'
        return Recorded(200, body.encode())


def _row(line: list[str]) -> DailyRow:
    day = datetime.strptime(line[0], "%Y-%m-%d %H:%M:%S UTC").replace(tzinfo=UTC)
    return DailyRow(int(day.timestamp()) * 1000, line[1].strip(), line[2].strip(), line[3].strip())


def _json_number(text: str) -> str:
    return text if _NUMBER.fullmatch(text) else "null"
