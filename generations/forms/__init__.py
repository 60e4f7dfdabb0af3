"""HTML forms of the member pages, one module per concern; views import them from here.

``parameters`` holds the schema-driven parameter form and owns which control each
parameter gets (``widget_for``); ``pages`` the other page forms (submission options,
gallery filters, flags, teams, invitations, tokens, webhooks); ``accounts`` the sign-up form.
"""
from __future__ import annotations

from .accounts import signup_form_class
from .pages import (
    FlagForm,
    GalleryCollectForm,
    GalleryFilterForm,
    GenerationOwnForm,
    InviteForm,
    MemberAddForm,
    MemberRoleForm,
    NotificationPreferencesForm,
    SubmitForm,
    TeamCreateForm,
    TeamSwitchForm,
    TokenCreateForm,
    WebhookEndpointForm,
)
from .parameters import (
    ACCEPT_BY_FILE_TYPE,
    ACCEPT_BY_MEDIA,
    FREEFORM_EXTRA,
    FREEFORM_PROMPT,
    UPLOAD_SUFFIX,
    ParameterForm,
    accept_attribute,
    display_value,
    json_text,
    widget_for,
)

__all__ = [
    "ACCEPT_BY_FILE_TYPE",
    "ACCEPT_BY_MEDIA",
    "FREEFORM_EXTRA",
    "FREEFORM_PROMPT",
    "UPLOAD_SUFFIX",
    "FlagForm",
    "GalleryCollectForm",
    "GalleryFilterForm",
    "GenerationOwnForm",
    "InviteForm",
    "MemberAddForm",
    "MemberRoleForm",
    "NotificationPreferencesForm",
    "ParameterForm",
    "SubmitForm",
    "TeamCreateForm",
    "TeamSwitchForm",
    "TokenCreateForm",
    "WebhookEndpointForm",
    "accept_attribute",
    "display_value",
    "json_text",
    "signup_form_class",
    "widget_for",
]
