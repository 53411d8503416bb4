"""``GET /api/v1/tokens/{symbol}``: one coin on one time axis (``ledgers.exchange.market.token``)."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ledgers.exchange.market.token import MAX_DAYS, token_overview, token_window
from whales.api.params import validated_query
from whales.api.serializers import ErrorSerializer

BAD_REQUEST = OpenApiResponse(ErrorSerializer, description="invalid_parameter")


class TokenParamsSerializer(serializers.Serializer):
    """Query of ``GET tokens/{symbol}``."""

    days = serializers.IntegerField(min_value=1, max_value=MAX_DAYS, default=30, help_text="Window length in days.")
    until = serializers.DateTimeField(required=False,
                                      help_text="Window end (ISO 8601); default the coin's newest data, at most now.")


class TokenView(APIView):
    """GET tokens/{symbol}?days=&until=: the coin's price, whale events, catalysts, sentiment and smart-money flows
    over one window (shape: ``ledgers.exchange.market.token.token_overview``)."""

    @extend_schema(operation_id="token_detail", parameters=[TokenParamsSerializer],
                   responses={200: OpenApiResponse(description="token_overview (see the view's docstring)"),
                              400: BAD_REQUEST, 404: OpenApiResponse(ErrorSerializer, description="not_found")})
    def get(self, request: Request, symbol: str) -> Response:
        params = validated_query(TokenParamsSerializer, request)
        window = token_window(symbol=symbol, days=params["days"], until=params.get("until"))
        return Response(token_overview(window))
