"""Site-wide middleware of the web side: the request size limit and the security headers."""

from __future__ import annotations

import io

from django.conf import settings
from django.shortcuts import render
from django.urls import Resolver404, resolve, reverse
from django.utils.cache import patch_cache_control


class RequestSizeLimitMiddleware:
    """Refuse a request body over MAX_UPLOAD_REQUEST_BYTES before anything reads it.

    Sits before CsrfViewMiddleware: the CSRF check reads request.POST, which parses
    the whole multipart body (files go to temporary files), for any logged-in user or
    anonymous visitor. A declared Content-Length is refused as it stands; a body
    without one (chunked) is read up to the limit and no further.
    """

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        limit = settings.MAX_UPLOAD_REQUEST_BYTES
        declared = request.META.get("CONTENT_LENGTH")
        if declared:
            try:
                too_large = int(declared) > limit
            except ValueError:
                too_large = False  # Django reads such a body as empty
            if too_large:
                return too_large_response(request, limit)
        elif "chunked" in request.META.get("HTTP_TRANSFER_ENCODING", "").lower():
            # Django reads no body without a Content-Length; read it here, bounded,
            # and hand it on as a body of known length.
            body = request.META["wsgi.input"].read(limit + 1)
            if len(body) > limit:
                return too_large_response(request, limit)
            request.META["CONTENT_LENGTH"] = str(len(body))
            request._stream = io.BytesIO(body)
        return self.get_response(request)


def too_large_response(request, limit: int):
    # The unread rest of the body is gunicorn's to drop: its sync workers close the
    # connection after each answer, and a keep-alive worker drains at most 64 KiB.
    mib = 1024 * 1024
    limit_text = f"{limit // mib} MiB" if limit % mib == 0 else f"{limit} bytes"
    return render(request, "413.html", {"limit_text": limit_text, "back": _way_back(request)}, status=413)


def _way_back(request) -> str:
    """The page the refused form was on, for an upload; the home page otherwise."""
    try:
        match = resolve(request.path_info)
    except Resolver404:
        return reverse("home")
    if match.url_name == "submit":
        return reverse("assignment", kwargs=match.kwargs)
    return reverse("home")


class SecurityHeadersMiddleware:
    """A strict Content-Security-Policy on every answer, and no caching of what a
    logged-in user sees (pages, JSON, CSV) by the browser or anything in between."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.setdefault("Content-Security-Policy", settings.CONTENT_SECURITY_POLICY)
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated:
            patch_cache_control(response, private=True, no_store=True)
        return response
