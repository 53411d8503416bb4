"""Watchlists (issue 17 §4): make, rename, share, delete; add wallets by ``(chain, address)`` or a pasted list;
read them and filter whales and events by one.

Who may do what: a list's owner reads and changes it; a staff owner may publish it (``is_shared``); every
signed-in user reads a published list and may filter by it. Another user's private list is not found (404),
exactly like a missing one. Limits (settings): ``WATCHLISTS_MAX_PER_USER`` lists a user, ``WATCHLIST_MAX_ENTRIES``
wallets a list, ``WATCHLIST_PASTE_MAX_LINES`` lines one paste.
"""

from collections.abc import Iterable
from dataclasses import dataclass, field

from django.conf import settings
from django.contrib.auth.models import AbstractBaseUser, AnonymousUser
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, ProtectedError, Q, QuerySet

from whales.chains import Chain, normalize_address
from whales.errors import Conflict, InvalidAddress, InvalidParameter, NotFound, UnknownChain
from whales.models import Whale, WhaleEvent
from whales.models.watchlists import Watchlist, WatchlistEntry
from whales.quotas import owner_quota_check

NAME_MAX_CHARS = 100
LINE_MAX_CHARS = 200


@dataclass
class PasteResult:
    """What a paste did: the wallets added, those already on the list, and the lines refused (with why)."""

    added: list[tuple[str, str]] = field(default_factory=list)
    already: list[tuple[str, str]] = field(default_factory=list)
    invalid: list[tuple[str, str]] = field(default_factory=list)  # (line, reason)


def _name_clean(name: str) -> str:
    name = (name or "").strip()
    if not name or len(name) > NAME_MAX_CHARS:
        raise InvalidParameter(f"name: 1 to {NAME_MAX_CHARS} characters.")
    return name


def watchlist_visible(user: AbstractBaseUser | AnonymousUser) -> QuerySet[Watchlist]:
    """The lists ``user`` may read: their own and the published ones (none for an anonymous user), by name."""
    if not user.is_authenticated:
        return Watchlist.objects.none()
    return Watchlist.objects.filter(Q(owner_id=user.pk) | Q(is_shared=True)).order_by("name", "id")


def watchlist_get(*, user: AbstractBaseUser | AnonymousUser, watchlist_id: int, write: bool = False) -> Watchlist:
    """The list ``watchlist_id`` if ``user`` may read it (``write``: if they own it).

    Raises: NotFound otherwise (another user's private list is indistinguishable from a missing one; a
    published list that is not yours is read-only: NotFound for ``write``)."""
    lists = watchlist_visible(user)
    if write:
        lists = lists.filter(owner_id=user.pk)
    found = lists.filter(pk=watchlist_id).first()
    if found is None:
        raise NotFound(f"No watchlist {watchlist_id}.")
    return found


def watchlist_create(*, owner_id: int, owner_is_staff: bool, name: str, is_shared: bool = False) -> Watchlist:
    """Make an empty list for user ``owner_id``. Raises: InvalidParameter (name; ``is_shared`` by a non-staff
    owner), QuotaExceeded, Conflict (the owner has a list of that name)."""
    name = _name_clean(name)
    if is_shared and not owner_is_staff:
        raise InvalidParameter("is_shared: only staff publish watchlists.")
    try:
        with transaction.atomic():
            owner_quota_check(owner_id=owner_id, owned=Watchlist.objects.filter(owner_id=owner_id),
                              limit=settings.WATCHLISTS_MAX_PER_USER, what="watchlists")
            return Watchlist.objects.create(owner_id=owner_id, name=name, is_shared=is_shared)
    except IntegrityError as exc:
        raise Conflict(f"You already have a watchlist named {name!r}.") from exc


def watchlist_update(*, watchlist: Watchlist, user: AbstractBaseUser | AnonymousUser, name: str | None = None,
                     is_shared: bool | None = None) -> Watchlist:
    """Rename and/or (staff) publish or withdraw ``watchlist``, which ``user`` owns.
    Raises: InvalidParameter, Conflict (name taken), NotFound (not the owner)."""
    if watchlist.owner_id != user.pk:
        raise NotFound(f"No watchlist {watchlist.pk}.")
    if is_shared is not None and is_shared != watchlist.is_shared and not getattr(user, "is_staff", False):
        raise InvalidParameter("is_shared: only staff publish watchlists.")
    if name is not None:
        watchlist.name = _name_clean(name)
    if is_shared is not None:
        watchlist.is_shared = is_shared
    try:
        with transaction.atomic():
            watchlist.save(update_fields=["name", "is_shared", "updated_at"])
    except IntegrityError as exc:
        raise Conflict(f"You already have a watchlist named {watchlist.name!r}.") from exc
    return watchlist


def watchlist_delete(*, watchlist: Watchlist, user: AbstractBaseUser | AnonymousUser) -> None:
    """Delete ``watchlist`` (owned by ``user``) and its entries.

    Raises: NotFound (not the owner); Conflict while an alert rule uses it (the rule's reference is PROTECT:
    dropping it silently would widen "moves by my watchlist" to every whale's moves)."""
    if watchlist.owner_id != user.pk:
        raise NotFound(f"No watchlist {watchlist.pk}.")
    try:
        watchlist.delete()
    except ProtectedError as exc:
        raise Conflict(f"Watchlist {watchlist.name!r} is used by {len(exc.protected_objects)} alert rule(s); "
                       "change or delete them first.") from exc


def wallet_parse(line: str, *, default_chain: str | None) -> tuple[str, str]:
    """``(chain, normalized address)`` from ``"chain:address"`` or a bare address (on ``default_chain``, or the
    only chain it is valid on). Raises: InvalidParameter (as InvalidAddress/UnknownChain) with the reason."""
    text = line.strip()
    if len(text) > LINE_MAX_CHARS:
        raise InvalidParameter(f"longer than {LINE_MAX_CHARS} characters")
    chain, sep, rest = text.partition(":")
    if sep and chain.strip().lower() in Chain.values:
        return chain.strip().lower(), normalize_address(chain.strip().lower(), rest)
    if default_chain:
        return default_chain, normalize_address(default_chain, text)
    valid = []
    for candidate in Chain.values:
        try:
            valid.append((candidate, normalize_address(candidate, text)))
        except InvalidAddress:
            continue
    if len(valid) == 1:
        return valid[0]
    if not valid:
        raise InvalidAddress("not an address on any chain WhaleTrack follows")
    raise InvalidParameter(f"valid on {', '.join(c for c, _ in valid)}: write it as chain:address")


def watchlist_entries_add(*, watchlist: Watchlist, user: AbstractBaseUser | AnonymousUser, lines: Iterable[str],
                          default_chain: str | None = None) -> PasteResult:
    """Add the wallets of ``lines`` (one ``chain:address`` or address each; blank lines skipped) to ``watchlist``,
    owned by ``user``. Idempotent: a wallet already on it is reported in ``already``. Invalid lines are reported
    and skipped; nothing is added when the list would exceed ``WATCHLIST_MAX_ENTRIES``.

    Raises: NotFound (not the owner), InvalidParameter (more than ``WATCHLIST_PASTE_MAX_LINES`` lines, an unknown
    ``default_chain``, or the list would grow past its limit)."""
    if watchlist.owner_id != user.pk:
        raise NotFound(f"No watchlist {watchlist.pk}.")
    if default_chain is not None and default_chain not in Chain.values:
        raise InvalidParameter(f"chain: unknown chain {default_chain!r}; known: {', '.join(Chain.values)}.")
    texts = [line for line in lines if line.strip()]
    if len(texts) > settings.WATCHLIST_PASTE_MAX_LINES:
        raise InvalidParameter(f"addresses: at most {settings.WATCHLIST_PASTE_MAX_LINES} lines at a time.")
    result = PasteResult()
    wallets: list[tuple[str, str]] = []
    for text in texts:
        try:
            wallet = wallet_parse(text, default_chain=default_chain)
        except (InvalidParameter, UnknownChain) as exc:
            result.invalid.append((text.strip()[:LINE_MAX_CHARS], str(exc.detail)))
            continue
        if wallet not in wallets:
            wallets.append(wallet)
    with transaction.atomic():
        Watchlist.objects.select_for_update().filter(pk=watchlist.pk).first()  # one paste at a time per list
        existing = set(WatchlistEntry.objects.filter(watchlist=watchlist).values_list("chain", "address"))
        new = [w for w in wallets if w not in existing]
        result.already = [w for w in wallets if w in existing]
        if len(existing) + len(new) > settings.WATCHLIST_MAX_ENTRIES:
            raise InvalidParameter(f"addresses: a watchlist holds at most {settings.WATCHLIST_MAX_ENTRIES} wallets "
                                   f"(it has {len(existing)}, this adds {len(new)}).")
        WatchlistEntry.objects.bulk_create([WatchlistEntry(watchlist=watchlist, chain=c, address=a) for c, a in new],
                                           ignore_conflicts=True)
        result.added = new
    return result


def watchlist_entry_remove(*, watchlist: Watchlist, user: AbstractBaseUser | AnonymousUser, chain: str,
                           address: str) -> bool:
    """Take a wallet off ``watchlist`` (owned by ``user``); False when it was not on it (idempotent).
    Raises: NotFound (not the owner), UnknownChain/InvalidAddress."""
    if watchlist.owner_id != user.pk:
        raise NotFound(f"No watchlist {watchlist.pk}.")
    deleted, _ = WatchlistEntry.objects.filter(watchlist=watchlist, chain=chain,
                                               address=normalize_address(chain, address)).delete()
    return bool(deleted)


def watchlist_wallets(watchlist_id: int) -> frozenset[tuple[str, str]]:
    """The ``(chain, address)`` pairs on list ``watchlist_id`` (one query; at most ``WATCHLIST_MAX_ENTRIES``)."""
    return frozenset(WatchlistEntry.objects.filter(watchlist_id=watchlist_id).values_list("chain", "address"))


def whales_on_watchlist(queryset: QuerySet[Whale], watchlist_id: int) -> QuerySet[Whale]:
    """``queryset`` narrowed to whales whose ``(chain, address)`` is on list ``watchlist_id`` (an EXISTS)."""
    on_list = WatchlistEntry.objects.filter(watchlist_id=watchlist_id, chain=OuterRef("chain"),
                                            address=OuterRef("address"))
    return queryset.filter(Exists(on_list))


def events_on_watchlist(queryset: QuerySet[WhaleEvent], watchlist_id: int) -> QuerySet[WhaleEvent]:
    """``queryset`` narrowed to events of whales on list ``watchlist_id`` (system events have no whale: out)."""
    on_list = WatchlistEntry.objects.filter(watchlist_id=watchlist_id, chain=OuterRef("whale__chain"),
                                            address=OuterRef("whale__address"))
    return queryset.filter(Exists(on_list))
