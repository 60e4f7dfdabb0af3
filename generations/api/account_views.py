"""REST API views of the member's own account: profile, notifications and data exports."""
from __future__ import annotations

from django.http import Http404
from django.urls import reverse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import status
from rest_framework.response import Response

from ..exceptions import InvalidInput
from ..models import DataExport
from ..selectors import accounts as account_reads
from ..selectors import notifications as notification_reads
from ..services import account_data
from ..services.notifications import inbox as notification_inbox
from ..services.notifications import preferences as notification_preferences
from ..serving import serve_file
from . import serializers as s
from .base import ERRORS, ApiView, Pagination


class NotificationListView(ApiView):
    throttle_scopes = {"GET": "list"}
    pagination_class = Pagination

    @extend_schema(
        parameters=[OpenApiParameter("unread", bool, description="Only unread ones."),
                    OpenApiParameter("page", int), OpenApiParameter("page_size", int)],
        responses={200: s.NotificationListSerializer, **ERRORS}, tags=["notifications"],
        description="Your notifications, newest first, with your `unread` count.",
    )
    def get(self, request):
        unread_only = request.query_params.get("unread") in ("1", "true", "yes")
        qs = notification_reads.notifications_of(request.user, unread_only=unread_only).select_related("team")
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(qs, request, view=self)
        results = s.NotificationSerializer(page, many=True, context={"request": request}).data
        return Response({
            "count": paginator.page.paginator.count,
            "unread": notification_reads.unread_notification_count(request.user),
            "next": paginator.get_next_link(), "previous": paginator.get_previous_link(), "results": results,
        })


class NotificationReadView(ApiView):
    @extend_schema(request=s.NotificationReadInputSerializer, responses={200: s.NotificationReadSerializer, **ERRORS},
                   tags=["notifications"],
                   description="Mark the notifications of `ids` read (ids that are not yours are ignored), or all.")
    def post(self, request):
        values = self.valid_input(s.NotificationReadInputSerializer)
        marked = notification_inbox.mark_read(user=request.user, ids=values.get("ids"))
        return Response({"marked": marked, "unread": notification_reads.unread_notification_count(request.user)})


class NotificationPreferencesView(ApiView):
    @extend_schema(responses={200: s.NotificationPreferenceSerializer(many=True), **ERRORS}, tags=["notifications"])
    def get(self, request):
        rows = notification_reads.preferences_of(request.user)
        return Response(s.NotificationPreferenceSerializer(rows, many=True).data)

    @extend_schema(request={"application/json": {"type": "object", "additionalProperties": {
                       "type": "object", "properties": {"channel": {"enum": ["off", "in_app", "email"]},
                                                        "digest": {"type": "boolean"}}}}},
                   responses={200: s.NotificationPreferenceSerializer(many=True), **ERRORS}, tags=["notifications"],
                   description="`{kind: {\"channel\"?, \"digest\"?}}`; kinds left out keep their setting.")
    def patch(self, request):
        if not isinstance(request.data, dict):
            raise InvalidInput({"non_field_errors": ["Send an object of kinds."]})
        choices = {}
        for kind, value in request.data.items():
            data = s.NotificationPreferenceInputSerializer(data=value if isinstance(value, dict) else None)
            if not data.is_valid():
                raise InvalidInput({str(kind): [str(e) for errs in data.errors.values() for e in errs]
                                    if isinstance(data.errors, dict) else ["Give channel and/or digest."]})
            choices[str(kind)] = dict(data.validated_data)
        rows = notification_preferences.set_preferences(user=request.user, choices=choices)
        return Response(s.NotificationPreferenceSerializer(rows, many=True).data)


def _export_body(request, export: DataExport) -> dict:
    # An expired export reads as failed: its zip is gone, and the member may ask for another.
    status_word = "failed" if export.status == DataExport.Status.EXPIRED else str(export.status)
    body: dict = {"id": str(export.pk), "status": status_word}
    if export.status == DataExport.Status.READY:
        body["url"] = request.build_absolute_uri(reverse("generations:api:me-export-download", args=[export.pk]))
        body["expires_at"] = export.expires_at.isoformat() if export.expires_at else None
        body["size"] = export.size
    elif export.status == DataExport.Status.FAILED:
        body["error"] = export.error
    elif export.status == DataExport.Status.EXPIRED:
        body["error"] = "The export expired and was deleted; ask for a new one."
    return body


class MeExportListView(ApiView):
    @extend_schema(request=None, responses={202: s.DataExportSerializer, **ERRORS}, tags=["account"])
    def post(self, request):
        export = account_data.request_export(user=request.user)
        return Response(_export_body(request, export), status=status.HTTP_202_ACCEPTED)


class MeExportDetailView(ApiView):
    @extend_schema(responses={200: s.DataExportSerializer, **ERRORS}, tags=["account"])
    def get(self, request, pk):
        return Response(_export_body(request, account_reads.export_of(user=request.user, export_id=pk)))


class MeExportDownloadView(ApiView):
    @extend_schema(responses={(200, "application/zip"): OpenApiResponse(OpenApiTypes.BINARY, description="The zip."),
                              302: OpenApiResponse(description="Redirect to a signed storage URL."), **ERRORS},
                   tags=["account"])
    def get(self, request, pk):
        export = account_reads.export_of(user=request.user, export_id=pk)
        if export.status != DataExport.Status.READY:
            raise Http404
        return serve_file(request, name=export.file_name, content_type="application/zip",
                          filename=f"gmi-portal-export-{export.created_at:%Y%m%d}.zip", attachment=True)


class MeView(ApiView):
    @extend_schema(request=s.AccountDeletionSerializer,
                   responses={204: None, 409: OpenApiResponse(s.ErrorSerializer, description="A team needs an owner."),
                              **ERRORS}, tags=["account"])
    def delete(self, request):
        data = s.AccountDeletionSerializer(data=request.data)
        if not data.is_valid():
            raise InvalidInput({"password": ["Enter your password to confirm."]})
        account_data.delete_account(user=request.user, password=data.validated_data["password"],
                                    request=request._request)
        return Response(status=status.HTTP_204_NO_CONTENT)
