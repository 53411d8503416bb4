"""Read-only API of the Bitcoin ledger: the mempool whale scorecard and list (``/api/v1/glass/bitcoin/``)."""

from datetime import timedelta

from django.utils import timezone
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ledgers.glass.bitcoin.api.serializers import (
    MempoolListParamsSerializer,
    MempoolListSerializer,
    ScorecardParamsSerializer,
    ScorecardSerializer,
)
from ledgers.glass.bitcoin.mempool_services import mempool_scorecard, mempool_whale_list
from whales.api.params import validated_query
from whales.api.serializers import ErrorSerializer

BAD_REQUEST = OpenApiResponse(ErrorSerializer, description="Bad query parameter (code invalid_parameter).")


class MempoolScorecardView(APIView):
    """GET bitcoin/mempool/scorecard?days=N: how mempool whales ended (confirmed / replaced / dropped
    shares of the resolved ones, median time to confirm), overall and per urgency band."""

    @extend_schema(operation_id="bitcoin_mempool_scorecard", parameters=[ScorecardParamsSerializer],
                   responses={200: ScorecardSerializer, 400: BAD_REQUEST})
    def get(self, request: Request) -> Response:
        params = validated_query(ScorecardParamsSerializer, request)
        since = timezone.now() - timedelta(days=params["days"]) if "days" in params else None
        return Response(ScorecardSerializer(mempool_scorecard(since=since)).data)


class MempoolTransactionListView(APIView):
    """GET bitcoin/mempool/transactions?status=&band=&limit=&offset=: mempool whales, newest first."""

    @extend_schema(operation_id="bitcoin_mempool_transaction_list", parameters=[MempoolListParamsSerializer],
                   responses={200: MempoolListSerializer, 400: BAD_REQUEST})
    def get(self, request: Request) -> Response:
        params = validated_query(MempoolListParamsSerializer, request)
        rows = mempool_whale_list(status=params.get("status"), band=params.get("band"))
        page = rows[params["offset"]: params["offset"] + params["limit"]]
        return Response(MempoolListSerializer({"items": page, "total": rows.count()}).data)
