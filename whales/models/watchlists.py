"""Watchlists: a user's named lists of wallets (issue 17 §4), by ``(chain, address)``.

An entry names a wallet, not a ``Whale`` row: an address nobody tracks can be watched, and its whale is matched
as soon as one is stored (the filters join on ``(chain, address)``, ``whales.watchlists``). A list is its
owner's; a staff user may publish one of theirs (``is_shared``), which every signed-in user can then read and
filter by, but only its owner changes.
"""

from django.conf import settings
from django.db import models

from whales.chains import Chain


class Watchlist(models.Model):
    """One user's named list of wallets. ``is_shared``: published by its (staff) owner to every signed-in user."""

    owner = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="watchlists")
    name = models.CharField(max_length=100)
    is_shared = models.BooleanField(default=False, help_text="Published to every signed-in user (staff only).")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["owner", "name"], name="watchlist_owner_name_uniq")]
        indexes = [models.Index(fields=["is_shared"], name="watchlist_shared")]

    def __str__(self) -> str:
        return self.name


class WatchlistEntry(models.Model):
    """One wallet on a watchlist: ``address`` normalized for its chain (``whales.chains.normalize_address``)."""

    watchlist = models.ForeignKey(Watchlist, on_delete=models.CASCADE, related_name="entries")
    chain = models.CharField(max_length=20, choices=Chain.choices)
    address = models.CharField(max_length=100)
    added_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name_plural = "watchlist entries"
        constraints = [models.UniqueConstraint(fields=["watchlist", "chain", "address"],
                                               name="watchlistentry_uniq")]
        indexes = [models.Index(fields=["chain", "address"], name="watchlistentry_wallet")]

    def __str__(self) -> str:
        return f"{self.chain}:{self.address}"
