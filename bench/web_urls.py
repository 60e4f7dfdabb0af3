"""URLs for bench/web.py: the portal plus floor views (one-row insert, fixed bodies) to compare against."""
import os
from pathlib import Path

from django.db import connection
from django.http import HttpResponse, JsonResponse
from django.urls import path
from django.views.decorators.csrf import csrf_exempt

from gmi_project.urls import urlpatterns as portal

BODIES = Path(os.environ.get("BENCH_BODIES", "/nonexistent"))


@csrf_exempt
def insert_one(request):
    with connection.cursor() as cursor:
        cursor.execute("INSERT INTO bench_row (note) VALUES (%s)", ["x"])
    return JsonResponse({"ok": True}, status=201)


def fixed(name: str, content_type: str):
    def view(request):
        return HttpResponse((BODIES / name).read_bytes(), content_type=content_type)
    return view


urlpatterns = [
    path("bench/insert/", insert_one),
    path("bench/list.json", fixed("list.json", "application/json")),
    path("bench/gallery.html", fixed("gallery.html", "text/html; charset=utf-8")),
    *portal,
]
