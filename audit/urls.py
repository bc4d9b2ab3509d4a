from django.urls import path

from . import views

app_name = "audit"
urlpatterns = [
    path("", views.trail, name="trail"),
    path("export.csv", views.trail_csv, name="export"),
    path("deleted/", views.deleted_list, name="deleted"),
    path("deleted/<int:pk>/restore/", views.restore, name="restore"),
    path("delete/<str:object_type>/<int:pk>/", views.delete, name="delete"),
]
