"""Corpus pages (placeholder until the corpus pages land)."""

from django.http import HttpResponse


def thread_list(request):
    return HttpResponse("thread list")


def thread_detail(request, thread_id):
    return HttpResponse(thread_id)


def import_page(request):
    return HttpResponse("import")
