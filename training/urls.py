"""Training pages: runs (list, new, detail with its live fragment, cancel), curves side by side, models."""

from django.urls import path

from . import views

app_name = "training"

urlpatterns = [
    path("", views.run_list, name="runs"),
    path("new/", views.run_new, name="run-new"),
    path("runs/<int:pk>/", views.run_detail, name="run"),
    path("runs/<int:pk>/live/", views.run_live, name="run-live"),
    path("runs/<int:pk>/cancel/", views.run_cancel, name="run-cancel"),
    path("compare/", views.run_compare, name="compare"),
    path("models/", views.model_list, name="models"),
    path("models/<slug:name>/", views.model_detail, name="model"),
    path("models/<slug:name>/serve/", views.model_serve, name="model-serve"),
]
