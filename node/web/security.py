"""Security headers on every response, static files and error pages included."""
from __future__ import annotations

from aiohttp import web

# No inline scripts or styles anywhere: pages work without JavaScript, and the little optional
# JavaScript lives in static files. Frames are refused (clickjacking).
CSP = ("default-src 'self'; img-src 'self' data:; style-src 'self'; script-src 'self'; "
       "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'")


async def add_security_headers(request: web.Request, response: web.StreamResponse) -> None:
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("X-Frame-Options", "DENY")
    headers.setdefault("Referrer-Policy", "same-origin")
    headers.setdefault("Permissions-Policy", "camera=(), microphone=(), geolocation=()")
    if request.scheme == "https" or request.headers.get("X-Forwarded-Proto") == "https":
        headers.setdefault("Strict-Transport-Security", "max-age=31536000")
