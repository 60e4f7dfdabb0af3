"""REST API routes (mounted under api/v1/)."""
from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from . import views

app_name = "api"

urlpatterns = [
    path("models/", views.ModelListView.as_view(), name="model-list"),
    path("models/<str:model_id>/", views.ModelDetailView.as_view(), name="model-detail"),
    path("generations/", views.GenerationListView.as_view(), name="generation-list"),
    path("generations/quote/", views.QuoteView.as_view(), name="generation-quote"),
    path("generations/<uuid:pk>/", views.GenerationDetailView.as_view(), name="generation-detail"),
    path("generations/<uuid:pk>/cancel/", views.CancelView.as_view(), name="generation-cancel"),
    path("generations/<uuid:pk>/rerun/", views.RerunView.as_view(), name="generation-rerun"),
    path("generations/<uuid:pk>/video/", views.VideoView.as_view(), name="generation-video"),
    path("generations/<uuid:pk>/thumbnail/", views.ThumbnailView.as_view(), name="generation-thumbnail"),
    path("generations/<uuid:pk>/flag/", views.FlagView.as_view(), name="generation-flag"),
    path("generations/<uuid:pk>/moderate/", views.ModerateView.as_view(), name="generation-moderate"),
    path("quota/", views.QuotaView.as_view(), name="quota"),
    path("uploads/", views.UploadView.as_view(), name="upload"),
    path("teams/", views.TeamListView.as_view(), name="team-list"),
    path("teams/<slug:slug>/", views.TeamDetailView.as_view(), name="team-detail"),
    path("teams/<slug:slug>/members/", views.TeamMembersView.as_view(), name="team-members"),
    path("teams/<slug:slug>/members/<str:username>/", views.TeamMemberView.as_view(), name="team-member"),
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="generations:api:schema"), name="docs"),
]
