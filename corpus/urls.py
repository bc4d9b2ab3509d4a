"""Corpus pages: thread list with search and filters, the thread chat view, and the import page."""

from django.urls import path

from . import views

app_name = "corpus"
urlpatterns = [
    path("", views.thread_list, name="thread-list"),
    path("threads/<str:thread_id>/", views.thread_detail, name="thread"),
    path("import/", views.import_page, name="import"),
]
