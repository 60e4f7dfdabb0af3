"""URLs of the portal's own account pages, beside allauth's under accounts/."""
from django.urls import path

from . import views

urlpatterns = [
    path("security/", views.security, name="account_security"),
    path("security/sessions/<int:session_id>/end/", views.end_session, name="account_end_session"),
    path("security/sessions/end-others/", views.end_other_sessions, name="account_end_other_sessions"),
    path("security/tokens/revoke-all/", views.revoke_all_tokens, name="account_revoke_all_tokens"),
]
