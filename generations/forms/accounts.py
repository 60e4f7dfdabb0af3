"""The sign-up form, built for whichever user model the site uses."""
from __future__ import annotations

from typing import Any

from django import forms
from django.contrib.auth import get_user_model
from django.contrib.auth.forms import UserCreationForm, UsernameField
from django.db import models as db_models


def signup_form_class() -> type[UserCreationForm]:
    """A ``UserCreationForm`` for the active user model (custom models included).

    Built on demand: the user model is only known once settings are loaded, and
    tests may swap it.
    """
    User = get_user_model()
    username_field = User.USERNAME_FIELD
    concrete = {f.name: f for f in User._meta.get_fields() if getattr(f, "concrete", False)}
    fields = [username_field]
    if "email" in concrete and username_field != "email":
        fields.append("email")
    for name in getattr(User, "REQUIRED_FIELDS", ()):
        field = concrete.get(name)
        if field is not None and name not in fields and not field.is_relation:
            fields.append(name)
    # UsernameField normalizes Unicode; it suits only a text username.
    is_text = isinstance(concrete.get(username_field), db_models.CharField) and not isinstance(
        concrete.get(username_field), db_models.EmailField)
    field_classes = {username_field: UsernameField} if is_text else {}

    meta = type("Meta", (UserCreationForm.Meta,), {"model": User, "fields": tuple(fields),
                                                   "field_classes": field_classes})

    def __init__(self: Any, *args: Any, **kwargs: Any) -> None:
        UserCreationForm.__init__(self, *args, **kwargs)
        if "email" in self.fields:
            self.fields["email"].help_text = "Used to reset your password."

    return type("SignupForm", (UserCreationForm,), {
        "Meta": meta,
        "__init__": __init__,
        "invitation": forms.CharField(required=False, widget=forms.HiddenInput, max_length=64),
        "__module__": __name__,
    })
