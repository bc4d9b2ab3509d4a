"""Job pages for leads: list, detail with live progress, cancel and retry."""

from django.urls import path

from . import views

app_name = "jobs"
urlpatterns = [
    path("", views.JobListView.as_view(), name="list"),
    path("<int:pk>/", views.JobDetailView.as_view(), name="detail"),
    path("<int:pk>/progress/", views.JobProgressView.as_view(), name="progress"),
    path("<int:pk>/cancel/", views.cancel_job, name="cancel"),
    path("<int:pk>/retry/", views.retry_job, name="retry"),
]
