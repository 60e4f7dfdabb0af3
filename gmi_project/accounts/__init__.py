"""The portal's accounts: django-allauth and django-axes configured for the site's sign-up modes, policies and pages."""
