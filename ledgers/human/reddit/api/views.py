"""``GET /api/v1/human/reddit/posts``: the stored Reddit posts with their coins and VADER sentiment."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ledgers.human.reddit.models import RedditPost, SentimentLabel
from ledgers.human.reddit.selectors import post_list
from whales.api.params import validated_query
from whales.api.serializers import ErrorSerializer, limit_field


class PostListParamsSerializer(serializers.Serializer):
    """Query of ``GET human/reddit/posts``."""

    coin = serializers.RegexField(r"^[A-Za-z0-9.]{1,30}$", required=False,
                                  help_text="Only posts naming this coin (its symbol as listed, e.g. BTC).")
    subreddit = serializers.RegexField(r"^[A-Za-z0-9_]{2,21}$", required=False, help_text="Only this subreddit.")
    sentiment = serializers.ChoiceField(choices=SentimentLabel.choices, required=False,
                                        help_text="Only posts with this sentiment label.")
    since = serializers.DateTimeField(required=False, help_text="Only posts created at or after this (ISO 8601).")
    until = serializers.DateTimeField(required=False, help_text="Only posts created before this (ISO 8601).")
    limit = limit_field()


class PostSerializer(serializers.ModelSerializer):
    """One post: ``coins`` the symbols it names, ``sentiment_compound`` VADER's score in [-1, 1] (4 places),
    ``link`` its Reddit page."""

    coins = serializers.SerializerMethodField()
    link = serializers.SerializerMethodField()

    class Meta:
        model = RedditPost
        fields = ["reddit_id", "subreddit", "title", "author", "score", "num_comments", "upvote_ratio", "created_at",
                  "link", "url", "coins", "sentiment_compound", "sentiment_label"]
        read_only_fields = fields

    def get_coins(self, post: RedditPost) -> list[str]:
        return [symbol for symbol in post.coins.split(",") if symbol]

    def get_link(self, post: RedditPost) -> str:
        return f"https://www.reddit.com{post.permalink}" if post.permalink.startswith("/") else ""


class PostListSerializer(serializers.Serializer):
    items = PostSerializer(many=True)


class PostListView(APIView):
    """GET human/reddit/posts?coin=&subreddit=&sentiment=&since=&until=&limit=: newest first, at most ``limit``."""

    @extend_schema(operation_id="reddit_post_list", parameters=[PostListParamsSerializer],
                   responses={200: PostListSerializer,
                              400: OpenApiResponse(ErrorSerializer, description="invalid_parameter")})
    def get(self, request: Request) -> Response:
        params = validated_query(PostListParamsSerializer, request)
        posts = post_list(coin=params.get("coin"), subreddit=params.get("subreddit"), label=params.get("sentiment"),
                          since=params.get("since"), until=params.get("until"))
        return Response({"items": PostSerializer(posts[: params["limit"]], many=True).data})
