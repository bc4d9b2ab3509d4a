"""Root URLconf: pages per app, the REST API under /api/, its schema and docs."""

from django.contrib import admin
from django.urls import include, path
from django.views.generic import RedirectView
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerSplitView

from . import oidc, people, tokens, views

urlpatterns = [
    # The annotation page's two hot endpoints, tried first: one request per judgment, resolved at the first pattern
    # instead of after the pages' (annotation/hot_urls.py; everything else under /api/ is further down).
    path("api/annotation/", include("annotation.hot_urls")),
    path("", views.home, name="home"),
    path("login/", views.LoginView.as_view(), name="login"),
    # POST only; also ends the session at the provider when the user signed in with it (alfa_platform.oidc).
    path("logout/", oidc.LogoutView.as_view(), name="logout"),
    path("oidc/authenticate/", oidc.AuthenticationRequestView.as_view(), name="oidc_authentication_init"),
    path("oidc/callback/", oidc.CallbackView.as_view(), name="oidc_authentication_callback"),
    path("health/", views.health, name="health"),
    path("account/tokens/", tokens.token_list, name="tokens"),
    path("account/tokens/<int:user_id>/revoke/", tokens.token_revoke, name="token-revoke"),
    path("account/people/", people.people_list, name="people"),
    path("account/people/<int:user_id>/roles/", people.change_role, name="people-role"),
    path("admin/", admin.site.urls),
    path("corpus/", include("corpus.urls")),
    path("jobs/", include("jobs.urls")),
    path("synthesis/", include("synthesis.urls")),
    path("annotation/", include("annotation.urls")),
    path("datasets/", include("dataversions.urls")),
    path("training/", include("training.urls")),
    path("evaluation/", include("evaluation.urls")),
    path("audit/", include("audit.urls")),
    path("api/", include("alfa_platform.api_urls")),
    path("api/schema/", SpectacularAPIView.as_view(), name="schema"),
    # The split view serves Swagger UI's start script as a file: the Content-Security-Policy allows no inline one.
    path("api/docs/", SpectacularSwaggerSplitView.as_view(url_name="schema"), name="api-docs"),
    # Redoc's bundle fetches its logo from cdn.redoc.ly (no setting turns that off): the local Swagger UI serves.
    path("api/redoc/", RedirectView.as_view(pattern_name="api-docs"), name="api-redoc"),
]
