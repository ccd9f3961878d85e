"""Test helpers: a small browser-like client that fills CSRF tokens like a real form would."""
from __future__ import annotations

import re
from dataclasses import dataclass

from aiohttp import ClientResponse, ClientSession

CSRF_RE = re.compile(r'name="_csrf" value="([^"]+)"')


def csrf_from(html: str) -> str:
    match = CSRF_RE.search(html)
    assert match, "page has no form with a CSRF token"
    return match.group(1)


@dataclass
class Page:
    status: int
    url: str
    text: str
    headers: dict

    def has(self, fragment: str) -> bool:
        return fragment in self.text


@dataclass
class WebClient:
    session: ClientSession
    base: str

    async def _page(self, response: ClientResponse) -> Page:
        return Page(response.status, str(response.url), await response.text(), dict(response.headers))

    async def get(self, path: str, **kwargs) -> Page:
        async with self.session.get(self.base + path, **kwargs) as response:
            return await self._page(response)

    async def post(self, path: str, data: dict | None = None, *, csrf_from_path: str | None = None,
                   csrf: str | None = None, **kwargs) -> Page:
        """POST a form the way a browser would: the token comes from the page holding the form."""
        fields = dict(data or {})
        if csrf is None:
            page = await self.get(csrf_from_path or "/")
            csrf = csrf_from(page.text)
        if csrf is not False:
            fields.setdefault("_csrf", csrf)
        async with self.session.post(self.base + path, data=fields, **kwargs) as response:
            return await self._page(response)

    async def login(self, username: str, password: str) -> Page:
        return await self.post("/login", {"username": username, "password": password},
                               csrf_from_path="/login")
