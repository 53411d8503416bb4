"""The collectors API and the dashboard summary (``/api/v1/``): freshness of every collector, one
collector's run log, and the dashboard's headline figures. Anonymous reads, throttled by settings."""

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.permissions import IsAdminUser
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from ledgers.api.serializers import (
    CollectorDetailSerializer,
    CollectorHealthListSerializer,
    CollectorTriggerSerializer,
    DashboardSummarySerializer,
    QualityReportSerializer,
)
from ledgers.quality import WEIGHTS, quality_latest
from ledgers.redact import error_for_viewer, error_redact
from ledgers.runlog import collector_trigger
from ledgers.selectors import (
    collector_health_get,
    collector_health_list,
    collector_health_shown,
    collector_run_list,
    dashboard_summary,
)
from whales.api.params import validated_query
from whales.api.serializers import ErrorSerializer
from whales.errors import NotFound
from whales.readcache import read_cached


class DashboardSummaryView(APIView):
    """GET dashboard/summary: headline counts, 24h volume (USD string) and collector freshness."""

    @extend_schema(operation_id="dashboard_summary", responses={200: DashboardSummarySerializer})
    def get(self, request: Request) -> Response:
        staff = request.user.is_staff
        return read_cached(request, endpoint="dashboard/summary", scopes=["whales", "collectors"], known=(),
                           vary=["staff" if staff else "public"], build=lambda: self.summary(staff=staff))

    @staticmethod
    def summary(*, staff: bool) -> dict:
        summary = dashboard_summary()
        summary["collectors"] = collector_health_shown(summary["collectors"], staff=staff)
        return DashboardSummarySerializer(summary).data


class CollectorHealthListView(APIView):
    """GET collectors/health: freshness of every registered collector, sorted by name."""

    @extend_schema(operation_id="collector_health_list", responses={200: CollectorHealthListSerializer})
    def get(self, request: Request) -> Response:
        validated_query(None, request)
        items = collector_health_shown(collector_health_list(), staff=request.user.is_staff)
        return Response(CollectorHealthListSerializer({"items": items}).data)


class CollectorDetailView(APIView):
    """GET collectors/{name}: one collector's freshness plus its 20 newest runs."""

    @extend_schema(
        operation_id="collector_detail",
        responses={200: CollectorDetailSerializer, 404: OpenApiResponse(ErrorSerializer, description="not_found")},
    )
    def get(self, request: Request, name: str) -> Response:
        staff = request.user.is_staff
        item = collector_health_shown([collector_health_get(name)], staff=staff)[0]
        data = CollectorDetailSerializer({**item, "runs": collector_run_list(name=name, limit=20)}).data
        for run in data["runs"]:
            run["error"] = error_for_viewer(error_redact(run["error"]), staff=staff)
        return Response(data)


class CollectorTriggerView(APIView):
    """POST collectors/{name}/trigger (staff only): run the collector now on the worker (202)."""

    permission_classes = [IsAdminUser]

    @extend_schema(
        operation_id="collector_trigger", request=None,
        responses={202: CollectorTriggerSerializer,
                   401: OpenApiResponse(ErrorSerializer, description="not signed in (not_authenticated)"),
                   403: OpenApiResponse(ErrorSerializer, description="not staff (permission_denied)"),
                   404: OpenApiResponse(ErrorSerializer, description="not_found"),
                   409: OpenApiResponse(ErrorSerializer, description="a long-running monitor (not_triggerable)")},
    )
    def post(self, request: Request, name: str) -> Response:
        task = collector_trigger(name=name)
        return Response(CollectorTriggerSerializer({"collector": name, "task": task}).data,
                        status=status.HTTP_202_ACCEPTED)


class QualityView(APIView):
    """GET quality: the latest data-quality report (the monitor runs from its beat row every 15 minutes)."""

    @extend_schema(
        operation_id="quality",
        responses={200: QualityReportSerializer,
                   404: OpenApiResponse(ErrorSerializer, description="not_found: the monitor has not run yet")},
    )
    def get(self, request: Request) -> Response:
        validated_query(None, request)
        report = quality_latest()
        if report is None:
            raise NotFound("The data-quality monitor has not run yet.")
        return Response(QualityReportSerializer({
            "computed_at": report.computed_at, "score": report.score,
            "weights": {part: str(weight) for part, weight in WEIGHTS.items()}, "ledgers": report.ledgers,
            "issues": report.issues, "checks": report.checks, "duration_ms": report.duration_ms}).data)
