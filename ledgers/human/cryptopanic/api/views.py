"""``GET /api/v1/human/cryptopanic/posts``: the stored CryptoPanic news with coins, votes and VADER sentiment."""

import re

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ledgers.human.cryptopanic.models import NewsPost
from whales.api.params import validated_query
from whales.api.serializers import ErrorSerializer, limit_field


class NewsListParamsSerializer(serializers.Serializer):
    """Query of ``GET human/cryptopanic/posts``."""

    coin = serializers.RegexField(r"^[A-Za-z0-9.]{1,30}$", required=False,
                                  help_text="Only posts about this coin (its symbol as listed, e.g. BTC).")
    sentiment = serializers.ChoiceField(choices=["bullish", "bearish", "neutral"], required=False,
                                        help_text="Only posts with this sentiment label.")
    since = serializers.DateTimeField(required=False, help_text="Only posts published at or after this (ISO 8601).")
    until = serializers.DateTimeField(required=False, help_text="Only posts published before this (ISO 8601).")
    limit = limit_field()


class NewsPostSerializer(serializers.ModelSerializer):
    """One post: ``coins`` its symbols; ``sentiment_compound`` VADER's score in [-1, 1] (4 places)."""

    coins = serializers.SerializerMethodField()

    class Meta:
        model = NewsPost
        fields = ["cryptopanic_id", "title", "kind", "source_domain", "url", "coins", "votes_positive",
                  "votes_negative", "votes_important", "comments", "published_at", "sentiment_compound",
                  "sentiment_label"]
        read_only_fields = fields

    def get_coins(self, post: NewsPost) -> list[str]:
        return [symbol for symbol in post.coins.split(",") if symbol]


class NewsListSerializer(serializers.Serializer):
    items = NewsPostSerializer(many=True)


class NewsListView(APIView):
    """GET human/cryptopanic/posts?coin=&sentiment=&since=&until=&limit=: newest first, at most ``limit``."""

    @extend_schema(operation_id="cryptopanic_post_list", parameters=[NewsListParamsSerializer],
                   responses={200: NewsListSerializer,
                              400: OpenApiResponse(ErrorSerializer, description="invalid_parameter")})
    def get(self, request: Request) -> Response:
        params = validated_query(NewsListParamsSerializer, request)
        posts = NewsPost.objects.all()
        if params.get("coin"):
            posts = posts.filter(coins__regex=rf"(^|,){re.escape(params['coin'])}(,|$)")
        if params.get("sentiment"):
            posts = posts.filter(sentiment_label=params["sentiment"])
        if params.get("since") is not None:
            posts = posts.filter(published_at__gte=params["since"])
        if params.get("until") is not None:
            posts = posts.filter(published_at__lt=params["until"])
        posts = posts.order_by("-published_at", "-id")[: params["limit"]]
        return Response({"items": NewsPostSerializer(posts, many=True).data})
