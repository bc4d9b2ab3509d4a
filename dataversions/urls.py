"""Dataset pages: datasets and versions, a version's card, counts, rows and diffs, exports and downloads."""

from django.urls import path

from . import views

app_name = "dataversions"

urlpatterns = [
    path("", views.dataset_list, name="list"),
    path("d/<slug:name>/", views.dataset_detail, name="dataset"),
    path("v/<int:pk>/", views.version_detail, name="version"),
    path("exports/<int:pk>/", views.export_detail, name="export"),
    path("exports/<int:pk>/download/", views.export_download, name="export-download"),
]
