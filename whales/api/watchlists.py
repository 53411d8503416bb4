"""API of watchlists (``/api/v1/watchlists...``): signed-in users; a list is read by its owner (or by everyone
signed in once staff publish it) and changed by its owner only. Another user's private list is 404 ``not_found``.

- ``GET watchlists``: your lists and the published ones, by name. ``POST``: make one (201).
- ``GET watchlists/{id}``: one list with its wallets (each with its whale when one is stored). ``PATCH``: rename,
  publish (staff). ``DELETE``: 204, or 409 while an alert rule uses it.
- ``POST watchlists/{id}/entries``: add wallets: ``{"addresses": "<lines>", "chain": <default or null>}``.
- ``DELETE watchlists/{id}/entries/{chain}/{address}``: take one off (204; 404 when it was not on the list).
"""

from django.db.models import Count
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import serializers, status
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from whales.api.params import validated, validated_query
from whales.api.serializers import ErrorSerializer, IsoDateTimeField
from whales.chains import Chain, normalize_address
from whales.errors import NotFound
from whales.models import Whale
from whales.models.watchlists import Watchlist
from whales.watchlists import (
    NAME_MAX_CHARS,
    watchlist_create,
    watchlist_delete,
    watchlist_entries_add,
    watchlist_entry_remove,
    watchlist_get,
    watchlist_update,
    watchlist_visible,
)

BAD_REQUEST = OpenApiResponse(ErrorSerializer, description="Bad body (invalid_parameter) or quota (quota_exceeded).")
UNAUTHORIZED = OpenApiResponse(ErrorSerializer, description="Not signed in (code not_authenticated).")
NOT_FOUND = OpenApiResponse(ErrorSerializer, description="No such watchlist you may see (code not_found).")
CONFLICT = OpenApiResponse(ErrorSerializer, description="Name taken, or the list is used by an alert rule.")
LIST_ID = OpenApiParameter("watchlist_id", int, OpenApiParameter.PATH, description="Watchlist id.")
# Text one paste may carry: WATCHLIST_PASTE_MAX_LINES lines of at most 200 characters bound it well below this.
PASTE_MAX_CHARS = 100_000


class WatchlistSerializer(serializers.Serializer):
    """A list as listed: ``mine`` says whether you own (and may change) it."""

    id = serializers.IntegerField()
    name = serializers.CharField()
    is_shared = serializers.BooleanField()
    owner = serializers.CharField(source="owner.get_username")
    mine = serializers.SerializerMethodField()
    entries = serializers.IntegerField(source="entry_count", help_text="Wallets on the list.")
    created_at = IsoDateTimeField()
    updated_at = IsoDateTimeField()

    def get_mine(self, watchlist: Watchlist) -> bool:
        return watchlist.owner_id == self.context["user_id"]


class WatchlistEntrySerializer(serializers.Serializer):
    chain = serializers.CharField()
    address = serializers.CharField()
    added_at = IsoDateTimeField()
    whale_id = serializers.IntegerField(allow_null=True, help_text="The stored whale of this wallet; null: none yet.")
    whale_name = serializers.CharField(allow_blank=True)
    is_tracked = serializers.BooleanField(allow_null=True)


class WatchlistDetailSerializer(WatchlistSerializer):
    wallets = WatchlistEntrySerializer(many=True)


class WatchlistListSerializer(serializers.Serializer):
    items = WatchlistSerializer(many=True)
    total = serializers.IntegerField()


class WatchlistCreateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=NAME_MAX_CHARS)
    is_shared = serializers.BooleanField(default=False, help_text="Publish to every signed-in user (staff only).")


class WatchlistUpdateSerializer(serializers.Serializer):
    name = serializers.CharField(max_length=NAME_MAX_CHARS, required=False)
    is_shared = serializers.BooleanField(required=False)


class WatchlistPasteSerializer(serializers.Serializer):
    addresses = serializers.CharField(max_length=PASTE_MAX_CHARS, trim_whitespace=False,
                                      help_text="One wallet a line: `chain:address`, or an address (on `chain`, "
                                                "or on the only chain it is valid on).")
    chain = serializers.ChoiceField(choices=Chain.choices, allow_null=True, default=None)


class PasteLineSerializer(serializers.Serializer):
    line = serializers.CharField()
    reason = serializers.CharField()


class WatchlistWalletSerializer(serializers.Serializer):
    chain = serializers.CharField()
    address = serializers.CharField()


class WatchlistPasteResultSerializer(serializers.Serializer):
    added = WatchlistWalletSerializer(many=True)
    already = WatchlistWalletSerializer(many=True, help_text="Already on the list: nothing changed for them.")
    invalid = PasteLineSerializer(many=True, help_text="Lines refused, with why; the others were added.")


def watchlist_detail(watchlist: Watchlist) -> dict:
    """The list's fields and its wallets (oldest first), each joined to its stored whale (two queries)."""
    entries = list(watchlist.entries.order_by("added_at", "id"))
    whales = {(w.chain, w.address): w for w in Whale.objects.filter(
        chain__in={e.chain for e in entries}, address__in={e.address for e in entries})}
    watchlist.entry_count = len(entries)  # type: ignore[attr-defined]
    wallets = []
    for entry in entries:
        whale = whales.get((entry.chain, entry.address))
        wallets.append({"chain": entry.chain, "address": entry.address, "added_at": entry.added_at,
                        "whale_id": whale.pk if whale else None, "whale_name": whale.name if whale else "",
                        "is_tracked": whale.is_tracked if whale else None})
    watchlist.wallets = wallets  # type: ignore[attr-defined]
    return watchlist  # type: ignore[return-value]  # the serializer reads the attributes set above


class WatchlistListView(APIView):
    """GET watchlists: yours and the published ones; POST: make one."""

    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="watchlist_list", responses={200: WatchlistListSerializer, 401: UNAUTHORIZED})
    def get(self, request: Request) -> Response:
        validated_query(None, request)
        lists = list(watchlist_visible(request.user).select_related("owner").annotate(entry_count=Count("entries")))
        data = WatchlistSerializer(lists, many=True, context={"user_id": request.user.pk}).data
        return Response({"items": data, "total": len(lists)})

    @extend_schema(operation_id="watchlist_create", request=WatchlistCreateSerializer,
                   responses={201: WatchlistSerializer, 400: BAD_REQUEST, 401: UNAUTHORIZED, 409: CONFLICT})
    def post(self, request: Request) -> Response:
        body = validated(WatchlistCreateSerializer, request.data)
        watchlist = watchlist_create(owner_id=request.user.pk, owner_is_staff=request.user.is_staff,  # type: ignore[arg-type]  # IsAuthenticated
                                     name=body["name"], is_shared=body["is_shared"])
        watchlist.entry_count = 0  # type: ignore[attr-defined]
        data = WatchlistSerializer(watchlist, context={"user_id": request.user.pk}).data
        return Response(data, status=status.HTTP_201_CREATED)


class WatchlistDetailView(APIView):
    """GET / PATCH / DELETE watchlists/{id}."""

    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="watchlist_get", parameters=[LIST_ID],
                   responses={200: WatchlistDetailSerializer, 401: UNAUTHORIZED, 404: NOT_FOUND})
    def get(self, request: Request, watchlist_id: int) -> Response:
        validated_query(None, request)
        watchlist = watchlist_get(user=request.user, watchlist_id=watchlist_id)
        return Response(WatchlistDetailSerializer(watchlist_detail(watchlist),
                                                  context={"user_id": request.user.pk}).data)

    @extend_schema(operation_id="watchlist_update", parameters=[LIST_ID], request=WatchlistUpdateSerializer,
                   responses={200: WatchlistDetailSerializer, 400: BAD_REQUEST, 401: UNAUTHORIZED, 404: NOT_FOUND,
                              409: CONFLICT})
    def patch(self, request: Request, watchlist_id: int) -> Response:
        body = validated(WatchlistUpdateSerializer, request.data)
        watchlist = watchlist_get(user=request.user, watchlist_id=watchlist_id, write=True)
        watchlist_update(watchlist=watchlist, user=request.user, name=body.get("name"),
                         is_shared=body.get("is_shared"))
        return Response(WatchlistDetailSerializer(watchlist_detail(watchlist),
                                                  context={"user_id": request.user.pk}).data)

    @extend_schema(operation_id="watchlist_delete", parameters=[LIST_ID],
                   responses={204: None, 401: UNAUTHORIZED, 404: NOT_FOUND, 409: CONFLICT})
    def delete(self, request: Request, watchlist_id: int) -> Response:
        watchlist_delete(watchlist=watchlist_get(user=request.user, watchlist_id=watchlist_id, write=True),
                         user=request.user)
        return Response(status=status.HTTP_204_NO_CONTENT)


class WatchlistEntriesView(APIView):
    """POST watchlists/{id}/entries: add pasted wallets (idempotent)."""

    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="watchlist_entries_add", parameters=[LIST_ID], request=WatchlistPasteSerializer,
                   responses={200: WatchlistPasteResultSerializer, 400: BAD_REQUEST, 401: UNAUTHORIZED,
                              404: NOT_FOUND})
    def post(self, request: Request, watchlist_id: int) -> Response:
        body = validated(WatchlistPasteSerializer, request.data)
        watchlist = watchlist_get(user=request.user, watchlist_id=watchlist_id, write=True)
        result = watchlist_entries_add(watchlist=watchlist, user=request.user,
                                       lines=body["addresses"].splitlines(), default_chain=body["chain"])
        return Response(WatchlistPasteResultSerializer({
            "added": [{"chain": c, "address": a} for c, a in result.added],
            "already": [{"chain": c, "address": a} for c, a in result.already],
            "invalid": [{"line": line, "reason": reason} for line, reason in result.invalid],
        }).data)


class WatchlistEntryView(APIView):
    """DELETE watchlists/{id}/entries/{chain}/{address}."""

    permission_classes = [IsAuthenticated]

    @extend_schema(operation_id="watchlist_entry_remove", parameters=[LIST_ID],
                   responses={204: None, 400: BAD_REQUEST, 401: UNAUTHORIZED, 404: NOT_FOUND})
    def delete(self, request: Request, watchlist_id: int, chain: str, address: str) -> Response:
        watchlist = watchlist_get(user=request.user, watchlist_id=watchlist_id, write=True)
        if not watchlist_entry_remove(watchlist=watchlist, user=request.user, chain=chain, address=address):
            raise NotFound(f"{chain}:{normalize_address(chain, address)} is not on watchlist {watchlist_id}.")
        return Response(status=status.HTTP_204_NO_CONTENT)
