"""The project's URLs plus ``/bench/bare/``, the floor bench/admin_pages.py compares the
admin pages with. Only bench/settings.py uses this module: the product's URLs stay as they are."""
from django.db import connection
from django.http import HttpResponse
from django.urls import path

from returns_portal.urls import urlpatterns as portal_urlpatterns


def bare(request):
    """A small page after one trivial query: the request still passes every middleware of the
    project and opens its database connection, as the admin's pages do."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
    return HttpResponse("bare\n", content_type="text/plain")


urlpatterns = [path("bench/bare/", bare, name="bench_bare"), *portal_urlpatterns]
