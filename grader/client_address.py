"""The client's address as the login throttle counts it."""

from django.conf import settings


def client_address(request) -> str:
    """REMOTE_ADDR, or behind TRUSTED_PROXY_COUNT proxies the address the outermost one saw.

    Each proxy appends the address it received the request from to X-Forwarded-For,
    so only the last TRUSTED_PROXY_COUNT entries are facts; whatever stands before
    them was sent by the client and is ignored (else one client could pose as many).
    """
    remote = request.META.get("REMOTE_ADDR", "")
    count = settings.TRUSTED_PROXY_COUNT
    if count <= 0:
        return remote
    forwarded = [part.strip() for part in request.META.get("HTTP_X_FORWARDED_FOR", "").split(",") if part.strip()]
    if len(forwarded) < count:
        return remote  # not through the expected proxies: the connection's own address
    return forwarded[-count]
