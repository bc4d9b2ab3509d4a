"""URLs of the synthesis pages (leads only)."""

from django.urls import path

from . import views

app_name = "synthesis"
urlpatterns = [
    path("", views.IndexView.as_view(), name="index"),
    path("attributes/<slug:key>/", views.AttributeEditView.as_view(), name="attribute"),
    path("templates/<int:pk>/", views.TemplateDetailView.as_view(), name="template"),
    path("endpoints/", views.EndpointListView.as_view(), name="endpoints"),
    path("endpoints/new/", views.EndpointEditView.as_view(), name="endpoint-new"),
    path("endpoints/<int:pk>/", views.EndpointEditView.as_view(), name="endpoint"),
    path("run/", views.SynthesisRunView.as_view(), name="run"),
    path("verify/", views.VerificationRunView.as_view(), name="verify"),
    path("build-pairs/", views.PairBuildRunView.as_view(), name="build-pairs"),
    path("jobs/<int:pk>/", views.JobSummaryView.as_view(), name="job"),
    path("variants/", views.VariantListView.as_view(), name="variants"),
    path("pairs/", views.PairListView.as_view(), name="pairs"),
    path("pairs/<int:pk>/", views.PairDetailView.as_view(), name="pair"),
]
