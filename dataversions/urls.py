"""Dataset pages: datasets and versions, a version's card, counts, rows and diffs, exports and downloads."""

from django.urls import path

from . import views

app_name = "dataversions"

urlpatterns = [
    path("", views.dataset_list, name="list"),
    path("d/<slug:name>/", views.dataset_detail, name="dataset"),
    path("v/<int:pk>/", views.version_detail, name="version"),
    path("v/<int:pk>/status/", views.version_status, name="version-status"),
    path("v/<int:pk>/README.md", views.version_card, name="version-card"),
    path("v/<int:pk>/rows/", views.version_rows, name="version-rows"),
    path("v/<int:pk>/diff/", views.version_diff, name="version-diff"),
    path("v/<int:pk>/export/", views.version_export, name="version-export"),
    path("exports/<int:pk>/", views.export_detail, name="export"),
    path("exports/<int:pk>/status/", views.export_status, name="export-status"),
    path("exports/<int:pk>/download/", views.export_download, name="export-download"),
]
