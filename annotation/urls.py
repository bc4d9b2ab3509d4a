"""Pages of the annotation app, under /annotation/."""

from django.urls import path

from . import views

app_name = "annotation"
urlpatterns = [
    path("", views.index, name="index"),
    path("campaigns/new/", views.campaign_create, name="campaign-create"),
    path("campaigns/<int:pk>/", views.campaign_detail, name="campaign"),
    path("campaigns/<int:pk>/import/", views.campaign_import, name="campaign-import"),
    path("campaigns/<int:pk>/status/", views.campaign_status, name="campaign-status"),
    path("campaigns/<int:pk>/add-pairs/", views.campaign_add_pairs, name="campaign-add-pairs"),
    path("campaigns/<int:pk>/members/<int:member_pk>/", views.campaign_member, name="campaign-member"),
    path("campaigns/<int:pk>/annotate/", views.annotate, name="annotate"),
    path("campaigns/<int:pk>/guidelines/", views.guidelines, name="guidelines"),
    path("campaigns/<int:pk>/dashboard/", views.dashboard, name="dashboard"),
    path("judgments/", views.my_judgments, name="my-judgments"),
    path("adjudication/", views.adjudication_queue, name="adjudication"),
    path("adjudication/items/<int:item_pk>/", views.adjudicate, name="adjudicate"),
    path("gold/", views.gold_list, name="gold-list"),
    path("gold/<int:case_pk>/", views.gold_label, name="gold-label"),
    path("gold/balance/", views.balance, name="balance"),
    path("releases/", views.releases, name="releases"),
    path("releases/<int:pk>/", views.release_detail, name="release"),
    path("releases/<int:pk>/export/", views.release_export, name="release-export"),
]
