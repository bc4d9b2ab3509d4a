"""REST API routes of the corpus app, under /api/corpus/."""

from rest_framework.routers import DefaultRouter

from .api import ImportViewSet, MultipleChoiceCaseViewSet, PostViewSet, QuestionViewSet, ThreadViewSet

router = DefaultRouter()
router.register("threads", ThreadViewSet, basename="corpus-thread")
router.register("questions", QuestionViewSet, basename="corpus-question")
router.register("posts", PostViewSet, basename="corpus-post")
router.register("mcqs", MultipleChoiceCaseViewSet, basename="corpus-mcq")
router.register("imports", ImportViewSet, basename="corpus-import")
urlpatterns = router.urls
