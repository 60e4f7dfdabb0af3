"""Account pages: Django's auth views on the app's templates, and sign-up under the SIGNUP mode."""
from __future__ import annotations

from typing import Any

from django.conf import settings
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.module_loading import import_string
from django.views.decorators.http import require_http_methods

from .. import refusals
from ..context_processors import page_context
from ..exceptions import NotAllowed
from ..forms import signup_form_class
from ..selectors import teams as team_reads
from ..services import accounts
from .base import render_page, safe_next_url


def _templates(name: str) -> list[str]:
    # A host site's own registration/<name> wins; the app's copy is the default.
    return [f"registration/{name}", f"generations/registration/{name}"]


class PageContextMixin:
    """Adds what the app's templates need to sit in the configured base template."""

    def get_context_data(self, **kwargs: Any) -> dict[str, Any]:
        context = super().get_context_data(**kwargs)  # type: ignore[misc]
        context.update(page_context(self.request))  # type: ignore[attr-defined]
        context.setdefault("signup_mode", accounts.signup_mode())
        return context


class LoginView(PageContextMixin, auth_views.LoginView):
    template_name = "registration/login.html"

    def get_template_names(self) -> list[str]:
        return _templates("login.html")


class LogoutView(PageContextMixin, auth_views.LogoutView):
    def get_template_names(self) -> list[str]:
        return _templates("logged_out.html")


class PasswordChangeView(PageContextMixin, auth_views.PasswordChangeView):
    def get_template_names(self) -> list[str]:
        return _templates("password_change_form.html")


class PasswordChangeDoneView(PageContextMixin, auth_views.PasswordChangeDoneView):
    def get_template_names(self) -> list[str]:
        return _templates("password_change_done.html")


class PasswordResetView(PageContextMixin, auth_views.PasswordResetView):
    # Plain-text mail from the app's templates: a host without the admin has no others.
    email_template_name = "generations/registration/password_reset_email.txt"
    subject_template_name = "generations/registration/password_reset_subject.txt"

    def get_template_names(self) -> list[str]:
        return _templates("password_reset_form.html")


class PasswordResetDoneView(PageContextMixin, auth_views.PasswordResetDoneView):
    def get_template_names(self) -> list[str]:
        return _templates("password_reset_done.html")


class PasswordResetConfirmView(PageContextMixin, auth_views.PasswordResetConfirmView):
    def get_template_names(self) -> list[str]:
        return _templates("password_reset_confirm.html")


class PasswordResetCompleteView(PageContextMixin, auth_views.PasswordResetCompleteView):
    def get_template_names(self) -> list[str]:
        return _templates("password_reset_complete.html")


@require_http_methods(["GET", "POST"])
def signup(request: HttpRequest) -> HttpResponse:
    """Sign-up: ``open`` logs the new member in, ``approval`` asks them to wait, ``invite`` needs a link."""
    if request.user.is_authenticated:
        return redirect("generations:gallery")
    mode = accounts.signup_mode()
    token = (request.POST.get("invitation") if request.method == "POST" else request.GET.get("invite")) or ""
    invitation = team_reads.open_invitation(token)
    context: dict[str, Any] = {"mode": mode, "invitation": invitation, "token_given": bool(token),
                               "next": request.POST.get("next") or request.GET.get("next") or ""}
    if mode == "invite" and invitation is None:
        return render_page(request, "generations/registration/signup_closed.html", context, status=403)
    SignupForm = signup_form_class()
    if request.method == "POST":
        form = SignupForm(request.POST)
        if form.is_valid():
            user = form.save(commit=False)
            try:
                result = accounts.sign_up(user=user, invitation_token=invitation.token if invitation else "")
            except NotAllowed as exc:
                form.add_error(None, refusals.page_words(exc))
            else:
                if not result.approved:
                    return redirect("signup_pending")
                login(request, result.user, backend=_session_backend())
                if result.membership is not None:
                    fallback = reverse("generations:team", args=[result.membership.team.slug])
                else:
                    fallback = reverse("generations:gallery")
                return redirect(safe_next_url(request, fallback))
    else:
        form = SignupForm(initial={"invitation": invitation.token if invitation else ""})
    context["form"] = form
    return render_page(request, "generations/registration/signup.html", context)


def _session_backend() -> str:
    """The first configured backend that can load a user for a session: guard backends (a lock-out's
    "refuse when locked" backend comes first) only authenticate and cannot."""
    for path in getattr(settings, "AUTHENTICATION_BACKENDS", None) or []:
        if hasattr(import_string(path), "get_user"):
            return path
    return "django.contrib.auth.backends.ModelBackend"


def signup_pending(request: HttpRequest) -> HttpResponse:
    return render_page(request, "generations/registration/signup_pending.html", {})
