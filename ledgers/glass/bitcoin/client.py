"""Esplora REST client (``BITCOIN_API_URL``: a mempool.space instance, your own esplora/electrs, or the
replay node offline), decoding answers into ``types.py`` dataclasses.

Transport: a requests Session with urllib3 ``Retry`` (429 and 5xx, honouring Retry-After, and
connection errors/timeouts, exponential backoff with jitter); every request has a timeout and first
spends one unit of the source's request budget (``BITCOIN_API_BUDGET``, shared through Redis), since
public instances answer 429 and ban heavy users. Retries inside one call spend no extra budget.
"""

import logging
from datetime import UTC, datetime
from typing import Any

import requests
from django.conf import settings

from ledgers.budget import BudgetExhausted, RequestBudget
from ledgers.errors import SourceError, SourceUnavailable
from ledgers.glass.bitcoin.types import AddressStats, BitcoinTx, TxInput, TxOutput, TxStatus
from ledgers.http import RETRY_STATUSES, BudgetedHttpClient

logger = logging.getLogger(__name__)



class EsploraUnavailable(SourceUnavailable):
    """The source could not answer now (timeout, refused, 429/5xx after retries, budget spent): retryable."""


class EsploraError(SourceError):
    """The source answered with an error or a body we cannot use (4xx, malformed JSON): terminal."""


class AddressNotFound(EsploraError):
    """The source has no record of the address (HTTP 404; a real Esplora answers empty stats instead)."""


def _time(value: Any) -> datetime | None:
    return None if value is None else datetime.fromtimestamp(int(value), tz=UTC)


def decode_status(raw: dict) -> TxStatus:
    """Decode an Esplora ``status`` object. Raises: KeyError/TypeError/ValueError when malformed."""
    if not raw["confirmed"]:
        return TxStatus(confirmed=False)
    return TxStatus(
        confirmed=True,
        block_number=int(raw["block_height"]),
        block_hash=str(raw.get("block_hash") or ""),
        block_time=_time(raw.get("block_time")),
    )


def decode_tx(raw: dict) -> BitcoinTx:
    """Decode one Esplora transaction object.

    Raises: EsploraError naming the transaction (its txid) when a field is missing or malformed.
    """
    try:
        inputs = tuple(
            TxInput(
                prev_tx_hash=str(vin.get("txid") or ""),
                prev_vout=int(vin.get("vout") or 0),
                address=str((vin.get("prevout") or {}).get("scriptpubkey_address") or ""),
                value_sat=int((vin.get("prevout") or {}).get("value") or 0),
                is_coinbase=bool(vin.get("is_coinbase")),
            )
            for vin in raw["vin"]
        )
        outputs = tuple(
            TxOutput(n=n, address=str(vout.get("scriptpubkey_address") or ""), value_sat=int(vout["value"]),
                     script_type=str(vout.get("scriptpubkey_type") or ""))
            for n, vout in enumerate(raw["vout"])
        )
        return BitcoinTx(
            tx_hash=str(raw["txid"]).lower(),
            inputs=inputs,
            outputs=outputs,
            fee_sat=int(raw.get("fee") or 0),
            weight_wu=int(raw["weight"]),
            size_bytes=int(raw.get("size") or 0),
            status=decode_status(raw["status"]),
        )
    except (KeyError, TypeError, ValueError, AttributeError) as exc:
        tx_hash = raw.get("txid") if isinstance(raw, dict) else None
        raise EsploraError(f"tx {tx_hash}: malformed Esplora transaction ({type(exc).__name__}: {exc})") from exc


def decode_address_stats(raw: dict) -> AddressStats:
    """Decode ``GET /address/:addr``. Raises: EsploraError when malformed."""
    try:
        chain, mempool = raw["chain_stats"], raw["mempool_stats"]
        return AddressStats(
            address=str(raw["address"]),
            chain_funded_sat=int(chain["funded_txo_sum"]),
            chain_spent_sat=int(chain["spent_txo_sum"]),
            chain_tx_count=int(chain["tx_count"]),
            mempool_funded_sat=int(mempool["funded_txo_sum"]),
            mempool_spent_sat=int(mempool["spent_txo_sum"]),
            mempool_tx_count=int(mempool["tx_count"]),
        )
    except (KeyError, TypeError, ValueError) as exc:
        raise EsploraError(f"malformed address stats ({type(exc).__name__}: {exc})") from exc


class EsploraClient(BudgetedHttpClient):
    """Esplora REST over HTTP (GETs, retried). Every method raises EsploraUnavailable (retryable) or
    EsploraError (terminal), nothing else; ``tx``/``tx_status`` return None for an unknown transaction."""

    @classmethod
    def from_settings(cls, url: str | None = None, *, budget_rate: str | None = None,
                      max_wait_s: float | None = None) -> "EsploraClient":
        """A client on ``url`` or BITCOIN_API_URL with the configured timeout, retries and request budget
        (BITCOIN_API_BUDGET, or ``budget_rate``; waits up to BITCOIN_API_BUDGET_MAX_WAIT_S, or
        ``max_wait_s``, for room). Raises: ValueError for a budget rate that cannot be parsed."""
        budget = RequestBudget("bitcoin_api", budget_rate or settings.BITCOIN_API_BUDGET,
                               max_wait_s=settings.BITCOIN_API_BUDGET_MAX_WAIT_S if max_wait_s is None else max_wait_s)
        return cls(url or settings.BITCOIN_API_URL, timeout_s=settings.BITCOIN_API_TIMEOUT_S,
                   retries=settings.BITCOIN_API_RETRIES, budget=budget)

    # --- transport ----------------------------------------------------------------------------
    def _get(self, path: str, *, allow_404: bool = False) -> requests.Response | None:
        if self.budget is not None:
            try:
                self.budget.spend()
            except BudgetExhausted as exc:
                raise EsploraUnavailable(str(exc)) from exc
        url = f"{self.base_url}{path}"
        try:
            response = self._session.get(url, timeout=self.timeout_s)
        except (requests.ConnectionError, requests.Timeout, requests.exceptions.RetryError) as exc:
            raise EsploraUnavailable(f"{url}: {type(exc).__name__}: {exc}") from exc
        self.requests_made += 1
        if response.status_code == 404 and allow_404:
            return None
        if response.status_code in RETRY_STATUSES:
            raise EsploraUnavailable(f"{url}: HTTP {response.status_code} after retries")
        if response.status_code >= 400:
            raise EsploraError(f"{url}: HTTP {response.status_code}: {response.text[:200]}")
        return response

    def _json(self, path: str, *, allow_404: bool = False) -> Any:
        response = self._get(path, allow_404=allow_404)
        if response is None:
            return None
        try:
            return response.json()
        except ValueError as exc:
            raise EsploraError(f"{self.base_url}{path}: malformed JSON ({str(exc)[:120]})") from exc

    def _tx_list(self, path: str) -> list[BitcoinTx]:
        raw = self._json(path)
        if not isinstance(raw, list):
            raise EsploraError(f"{self.base_url}{path}: expected a JSON list of transactions")
        txs = []
        for item in raw:
            try:
                txs.append(decode_tx(item))
            except EsploraError as exc:  # a bad record is logged and skipped, never aborts the page
                logger.warning("bitcoin.tx.malformed", extra={"path": path, "error": str(exc)})
        return txs

    # --- API ----------------------------------------------------------------------------------
    def tip_block_number(self) -> int:
        """``GET /blocks/tip/height``: the block number (height) of the best block (plain-text integer)."""
        response = self._get("/blocks/tip/height")
        assert response is not None
        try:
            return int(response.text.strip())
        except ValueError as exc:
            raise EsploraError(f"tip block number: not an integer: {response.text[:40]!r}") from exc

    def address_stats(self, address: str) -> AddressStats:
        """``GET /address/:addr``. Raises: AddressNotFound on 404 (besides the usual errors)."""
        raw = self._json(f"/address/{address}", allow_404=True)
        if raw is None:
            raise AddressNotFound(f"{address}: not known to {self.base_url}")
        if not isinstance(raw, dict):
            raise EsploraError(f"{address}: address stats is not a JSON object")
        return decode_address_stats(raw)

    def address_txs(self, address: str) -> list[BitcoinTx]:
        """``GET /address/:addr/txs``: unconfirmed txs, then the newest confirmed ones (one page)."""
        return self._tx_list(f"/address/{address}/txs")

    def address_txs_chain(self, address: str, last_seen_tx_hash: str) -> list[BitcoinTx]:
        """``GET /address/:addr/txs/chain/:last_seen_txid``: the next page of confirmed txs, newest first
        ([] at the end of the history)."""
        return self._tx_list(f"/address/{address}/txs/chain/{last_seen_tx_hash}")

    def tx(self, tx_hash: str) -> BitcoinTx | None:
        """``GET /tx/:txid``; None when the source does not know it (404: never seen, replaced or dropped)."""
        raw = self._json(f"/tx/{tx_hash}", allow_404=True)
        if raw is None:
            return None
        if not isinstance(raw, dict):
            raise EsploraError(f"tx {tx_hash}: not a JSON object")
        return decode_tx(raw)

    def tx_status(self, tx_hash: str) -> TxStatus | None:
        """``GET /tx/:txid/status``; None when the source does not know the transaction."""
        raw = self._json(f"/tx/{tx_hash}/status", allow_404=True)
        if raw is None:
            return None
        try:
            return decode_status(raw)
        except (KeyError, TypeError, ValueError) as exc:
            raise EsploraError(f"tx {tx_hash}: malformed status ({exc})") from exc
