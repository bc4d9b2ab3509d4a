"""REST API routes of the evaluation app, under /api/evaluation/."""

from django.urls import path
from rest_framework.routers import DefaultRouter

from .api import CaseSetViewSet, EpisodeViewSet, LeaderboardView, RunViewSet

router = DefaultRouter()
router.register("runs", RunViewSet, basename="evaluation-run")
router.register("episodes", EpisodeViewSet, basename="evaluation-episode")
router.register("case-sets", CaseSetViewSet, basename="evaluation-case-set")
urlpatterns = [path("leaderboard/", LeaderboardView.as_view(), name="evaluation-leaderboard"), *router.urls]
