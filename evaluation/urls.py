"""URLs of the evaluation pages."""

from django.urls import path

from . import views

app_name = "evaluation"
urlpatterns = [
    path("", views.IndexView.as_view(), name="index"),
    path("launch/", views.LaunchView.as_view(), name="launch"),
    path("case-sets/upload/", views.upload_case_set, name="case-set-upload"),
    path("leaderboard/", views.LeaderboardView.as_view(), name="leaderboard"),
    path("leaderboard.<str:fmt>", views.export_leaderboard, name="leaderboard-export"),
    path("runs/<int:pk>/", views.RunView.as_view(), name="run"),
    path("runs/<int:pk>/progress/", views.RunProgressView.as_view(), name="run-progress"),
    path("runs/<int:pk>/export.<str:fmt>", views.export_run, name="run-export"),
    path("runs/<int:run_pk>/episodes/<int:pk>/", views.EpisodeView.as_view(), name="episode"),
]
