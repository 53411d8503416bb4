"""Query filters of the whales API (django-filter). Invalid values become 400 ``invalid_parameter``.

Every filter's form field validates its value (choices, numbers with bounded digits, no NUL
characters), so nothing malformed reaches the database.
"""

from datetime import timedelta

import django_filters
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone

from whales.chains import Chain, normalize_address
from whales.errors import InvalidAddress, InvalidParameter, NotFound
from whales.models import Direction, EventType, Trade, TradeSource, Whale, WhaleEvent, WhaleLabel, WhaleType
from whales.watchlists import events_on_watchlist, watchlist_get, whales_on_watchlist

ACTIVITY_WINDOWS = {"24h": timedelta(hours=24), "7d": timedelta(days=7), "30d": timedelta(days=30)}

# Bounded so a value like 1e999999 is a 400, not a database overflow (a 500).
_DECIMAL_BOUNDS = {"max_digits": 38, "decimal_places": 8}


def _watchlist_id(request, value) -> int:
    """The id of a watchlist the request's user may read. Raises: InvalidParameter naming the parameter."""
    try:
        return watchlist_get(user=request.user, watchlist_id=int(value)).pk
    except NotFound as exc:
        raise InvalidParameter(f"watchlist: no watchlist {int(value)} of yours or published.") from exc


class WhaleFilterSet(django_filters.FilterSet):
    """Filters of ``GET whales``; all combine with AND."""

    chain = django_filters.ChoiceFilter(choices=Chain.choices, help_text="Only whales on this chain.")
    type = django_filters.ChoiceFilter(choices=WhaleType.choices, help_text="Whale type.")
    # A ChoiceFilter, not BooleanFilter: NullBooleanField would silently ignore "maybe".
    is_tracked = django_filters.ChoiceFilter(
        choices=[("true", "true"), ("false", "false")], method="filter_is_tracked",
        help_text="true: tracked whales only; false: untracked only.",
    )
    min_roi = django_filters.NumberFilter(
        field_name="metrics__roi_percent", lookup_expr="gte", **_DECIMAL_BOUNDS,
        help_text="Minimum ROI in percent (metrics.roi_percent >= value); whales without metrics are excluded.",
    )
    activity_window = django_filters.ChoiceFilter(
        choices=[(key, key) for key in ACTIVITY_WINDOWS], method="filter_activity_window",
        help_text="Active within the last 24h, 7d or 30d (last_active_at, relative to now).",
    )
    label = django_filters.CharFilter(method="filter_label", help_text="Label slug, e.g. `smart-money`.")
    entity = django_filters.CharFilter(method="filter_entity", help_text="Entity slug or name (case-insensitive).")
    watchlist = django_filters.NumberFilter(
        method="filter_watchlist", min_value=1, max_digits=18, decimal_places=0,
        help_text="Id of a watchlist you own or a published one: only its wallets (whales.watchlists).",
    )
    search = django_filters.CharFilter(
        method="filter_search",
        help_text="An address valid on some chain matches that address exactly (after normalization); "
        "anything else matches name, label name or entity name (contains, case-insensitive).",
    )

    class Meta:
        model = Whale
        fields = ["chain", "type"]

    def filter_watchlist(self, queryset: QuerySet[Whale], name: str, value) -> QuerySet[Whale]:
        return whales_on_watchlist(queryset, _watchlist_id(self.request, value))

    def filter_is_tracked(self, queryset: QuerySet[Whale], name: str, value: str) -> QuerySet[Whale]:
        return queryset.filter(is_tracked=value == "true")

    def filter_activity_window(self, queryset: QuerySet[Whale], name: str, value: str) -> QuerySet[Whale]:
        return queryset.filter(last_active_at__gte=timezone.now() - ACTIVITY_WINDOWS[value])

    def filter_label(self, queryset: QuerySet[Whale], name: str, value: str) -> QuerySet[Whale]:
        # Exists, not a join: a label carried by two sources must not list the whale twice.
        return queryset.filter(Exists(WhaleLabel.objects.filter(whale=OuterRef("pk"), label__slug=value)))

    def filter_entity(self, queryset: QuerySet[Whale], name: str, value: str) -> QuerySet[Whale]:
        return queryset.filter(Q(entity__slug=value) | Q(entity__name__iexact=value))

    def filter_search(self, queryset: QuerySet[Whale], name: str, value: str) -> QuerySet[Whale]:
        value = value.strip()
        if not value:
            return queryset
        by_address = Q()
        for chain in Chain:
            try:
                by_address |= Q(chain=chain, address=normalize_address(chain, value))
            except InvalidAddress:
                continue
        if by_address:
            return queryset.filter(by_address)
        labelled = WhaleLabel.objects.filter(whale=OuterRef("pk"), label__name__icontains=value)
        return queryset.filter(Q(name__icontains=value) | Q(entity__name__icontains=value) | Exists(labelled))


class TradeFilterSet(django_filters.FilterSet):
    """Filters of ``GET wallets/{chain}/{address}/trades``."""

    source = django_filters.ChoiceFilter(choices=TradeSource.choices, help_text="Trade source.")
    direction = django_filters.ChoiceFilter(choices=Direction.choices, help_text="Trade direction.")

    class Meta:
        model = Trade
        fields = ["source", "direction"]


class EventFilterSet(django_filters.FilterSet):
    """Filters of ``GET events/recent``."""

    chain = django_filters.ChoiceFilter(choices=Chain.choices, help_text="Only events on this chain.")
    type = django_filters.ChoiceFilter(choices=EventType.choices, help_text="Event type.")
    min_value_usd = django_filters.NumberFilter(
        field_name="value_usd", lookup_expr="gte", **_DECIMAL_BOUNDS,
        help_text="Minimum USD value (value_usd >= value); unpriced events are excluded.",
    )
    watchlist = django_filters.NumberFilter(
        method="filter_watchlist", min_value=1, max_digits=18, decimal_places=0,
        help_text="Id of a watchlist you own or a published one: only events of its wallets.",
    )

    class Meta:
        model = WhaleEvent
        fields = ["chain", "type"]

    def filter_watchlist(self, queryset: QuerySet[WhaleEvent], name: str, value) -> QuerySet[WhaleEvent]:
        return events_on_watchlist(queryset, _watchlist_id(self.request, value))
