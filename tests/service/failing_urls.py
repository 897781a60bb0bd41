"""The site's URLs plus one view with a bug, for the 500 page and its log."""

from django.urls import include, path


def broken_view(request):
    raise RuntimeError("a bug in a view")


urlpatterns = [path("broken/", broken_view), path("", include("grader.urls"))]
