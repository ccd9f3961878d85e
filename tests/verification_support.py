"""Helpers of the verification tests (this module holds no tests itself)."""
from __future__ import annotations

from aiohttp import FormData

from tests.helpers import csrf_from

HEADER = "document_number,birth_date,postal_code\n"
CENSUS = HEADER + "12345678-Z,1990-04-01,08001\nX 1234567 L,15/06/1985,08002\n"


async def upload_census(web, content: bytes | str, *, csrf: str | None = None, filename: str = "census.csv"):
    """POST the census form as a browser would (multipart, token from the page)."""
    if csrf is None:
        csrf = csrf_from((await web.get("/admin/verifications/census")).text)
    form = FormData()
    if csrf is not False:
        form.add_field("_csrf", csrf)
    form.add_field("census", content.encode() if isinstance(content, str) else content,
                   filename=filename, content_type="text/csv")
    async with web.session.post(web.base + "/admin/verifications/census", data=form) as response:
        return await web._page(response)


async def verify_census(web, document="12345678Z", birth="1990-04-01", postal="08001"):
    return await web.post("/account/verifications/census",
                          {"document_number": document, "birth_date": birth, "postal_code": postal},
                          csrf_from_path="/account/verifications")
