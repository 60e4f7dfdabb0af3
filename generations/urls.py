"""URLs of the generations app: its pages and, under api/v1/, the REST API. Mount anywhere."""
from django.urls import include, path

app_name = "generations"

urlpatterns = [
    path("api/v1/", include("generations.api.urls")),
]
