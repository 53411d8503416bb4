"""Which adapter an account talks to: ``adapter_for(account)``.

A paper account gets the paper book (``PaperVenue``); a live account the adapter of its ``live_venue``, built
from its stored credentials (decrypted here and nowhere else) and the venue's base-URL setting:
``HYPERLIQUID_API_URL`` and ``COINSPOT_API_URL`` (offline, ``make run`` points both at the replay node's venue
simulator). ``TRADING_VENUE_TIMEOUT_S`` bounds every venue call.
"""

from django.conf import settings

from trading.adapters.base import VenueAdapter
from trading.crypto import CredentialsKeyMissing, InvalidToken, credential_reveal
from trading.models import Account, AccountMode, ExchangeCredential, LiveVenue
from whales.errors import Conflict


class VenueNotConfigured(Conflict):
    """409 ``conflict``: the account has no live venue or no credentials for it (nothing was sent)."""


def venue_timeout_s() -> float:
    """Seconds every venue call may take (``TRADING_VENUE_TIMEOUT_S``, default 10)."""
    return float(getattr(settings, "TRADING_VENUE_TIMEOUT_S", 10.0))


def live_adapter(*, venue: str, api_key: str, secret: str) -> VenueAdapter:
    """The adapter of ``venue`` (a ``LiveVenue``) with these credentials. Raises VenueNotConfigured for an unknown
    venue. Imports each venue's library only when it is used."""
    if venue == LiveVenue.HYPERLIQUID:
        from trading.adapters.hyperliquid import HyperliquidVenue

        return HyperliquidVenue(base_url=settings.HYPERLIQUID_API_URL, account_address=api_key, agent_key=secret,
                                timeout_s=venue_timeout_s())
    if venue == LiveVenue.COINSPOT:
        from trading.adapters.coinspot import CoinspotVenue

        return CoinspotVenue(base_url=settings.COINSPOT_API_URL, api_key=api_key, secret=secret,
                             timeout_s=venue_timeout_s())
    raise VenueNotConfigured(f"unknown venue {venue!r}; expected one of {', '.join(LiveVenue.values)}")


def adapter_for(account: Account) -> VenueAdapter:
    """The venue adapter of ``account``: ``PaperVenue`` for a paper account, else its live venue's. Raises
    VenueNotConfigured (no venue or no credentials), CredentialsKeyMissing (no key, or credentials that the
    configured keys cannot open: 503)."""
    if account.mode == AccountMode.PAPER or not account.live_venue:
        if account.mode == AccountMode.LIVE:
            raise VenueNotConfigured(f"account {account.pk} is in live mode but has no live venue")
        from trading.adapters.paper import PaperVenue

        return PaperVenue(account_id=account.pk)
    credential = ExchangeCredential.objects.filter(account=account, exchange=account.live_venue).first()
    if credential is None:
        raise VenueNotConfigured(f"account {account.pk} has no {account.live_venue} credentials")
    try:
        api_key, secret = credential_reveal(credential=credential)
    except InvalidToken as exc:
        raise CredentialsKeyMissing(f"account {account.pk}'s {account.live_venue} credentials cannot be opened with "
                                    "the configured TRADING_CREDENTIALS_KEYS; enter them again") from exc
    return live_adapter(venue=account.live_venue, api_key=api_key, secret=secret)
