"""REST API routes of the annotation app, under /api/annotation/."""

from .api_router import router

# The page's two hot endpoints (next item, submit) are routed first by the root URLconf (annotation/hot_urls.py).
urlpatterns = router.urls
