"""REST API views of webhook endpoints, their deliveries and the submission secret."""
from __future__ import annotations

import uuid

from django.http import Http404
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import status
from rest_framework.response import Response

from ..selectors import webhooks as webhook_reads
from ..services.webhooks import endpoints as webhook_endpoints
from ..services.webhooks import signing as webhook_signing
from . import serializers as s
from .base import ERRORS, WRITE_ERRORS, ApiView, Pagination


class WebhookListView(ApiView):
    throttle_scopes = {"GET": "list"}

    @extend_schema(responses={200: s.WebhookEndpointSerializer(many=True), **ERRORS}, tags=["webhooks"])
    def get(self, request):
        return Response(s.WebhookEndpointSerializer(webhook_reads.endpoints_of(request.user), many=True).data)

    @extend_schema(request=s.WebhookInputSerializer, responses={201: s.WebhookCreatedSerializer, **WRITE_ERRORS},
                   tags=["webhooks"], description="The answer carries `secret`, which is never shown again; a "
                   "target that is not a public, reachable address answers 400 `webhook_target_forbidden` (one "
                   "text for every reason); an account waiting for approval answers 403 `account_pending`.")
    def post(self, request):
        values = self.valid_input(s.WebhookInputSerializer)
        endpoint = webhook_endpoints.create_endpoint(user=request.user, url=values["url"], events=values["events"],
                                            team=values.get("team") or None)
        return Response(s.WebhookCreatedSerializer(endpoint).data, status=status.HTTP_201_CREATED)


class SubmissionSecretView(ApiView):
    """The secret that signs messages to a submission's own ``webhook`` URL (one per account)."""

    @extend_schema(responses={200: s.SubmissionSecretStateSerializer, **ERRORS}, tags=["webhooks"],
                   description="Whether the account has a per-submission secret; the secret itself is only "
                   "in the answer of the POST that makes it.")
    def get(self, request):
        return Response({"exists": webhook_reads.has_submission_secret(request.user)})

    @extend_schema(request=None, responses={200: s.SubmissionSecretSerializer, **WRITE_ERRORS}, tags=["webhooks"],
                   description="A new per-submission secret, in this answer only. The previous one keeps signing "
                   "beside it for 24 hours (`webhook-signature` then carries both signatures), so receivers can "
                   "switch without losing a message; after that only the new one signs. An account waiting for "
                   "approval answers 403 `account_pending`.")
    def post(self, request):
        return Response({"secret": webhook_signing.rotate_submission_secret(user=request.user)})


class WebhookView(ApiView):
    def endpoint(self, pk):
        endpoint = webhook_reads.endpoints_of(self.request.user).filter(pk=_uuid_or_none(pk)).first()
        if endpoint is None:
            raise Http404
        return endpoint


def _uuid_or_none(value: str) -> str | None:
    try:
        return str(uuid.UUID(str(value)))
    except ValueError:
        return None


class WebhookDetailView(WebhookView):
    @extend_schema(responses={204: None, **ERRORS}, tags=["webhooks"])
    def delete(self, request, pk):
        webhook_endpoints.delete_endpoint(endpoint=self.endpoint(pk))
        return Response(status=status.HTTP_204_NO_CONTENT)


class WebhookRotateView(WebhookView):
    @extend_schema(request=None, responses={200: s.WebhookCreatedSerializer, **ERRORS}, tags=["webhooks"],
                   description="A new secret (in this answer only); the old one stays valid for 24 hours.")
    def post(self, request, pk):
        endpoint = webhook_signing.rotate_secret(endpoint=self.endpoint(pk))
        return Response(s.WebhookCreatedSerializer(endpoint).data)


class WebhookDeliveriesView(WebhookView):
    pagination_class = Pagination
    throttle_scopes = {"GET": "list"}

    @extend_schema(parameters=[OpenApiParameter("page", int), OpenApiParameter("page_size", int)],
                   responses={200: s.WebhookDeliverySerializer(many=True), **ERRORS}, tags=["webhooks"])
    def get(self, request, pk):
        paginator = self.pagination_class()
        page = paginator.paginate_queryset(webhook_reads.deliveries_of(self.endpoint(pk), viewer=request.user), request,
                                           view=self)
        return paginator.get_paginated_response(s.WebhookDeliverySerializer(page, many=True).data)


class WebhookResendView(WebhookView):
    @extend_schema(request=None, responses={202: s.WebhookDeliverySerializer, **WRITE_ERRORS}, tags=["webhooks"],
                   description="Send the message again soon, with the same `webhook-id`.")
    def post(self, request, pk, delivery_id):
        delivery = webhook_reads.deliveries_of(self.endpoint(pk), viewer=request.user).filter(
            pk=_uuid_or_none(delivery_id)).first()
        if delivery is None:
            raise Http404
        webhook_endpoints.resend_delivery(delivery=delivery)
        return Response(s.WebhookDeliverySerializer(delivery).data, status=status.HTTP_202_ACCEPTED)
