"""REST routes of training, under /api/training/."""

from rest_framework.routers import DefaultRouter

from .api import RunViewSet, TrainedModelViewSet

router = DefaultRouter()
router.register("runs", RunViewSet, basename="training-run")
router.register("models", TrainedModelViewSet, basename="trained-model")
urlpatterns = router.urls
