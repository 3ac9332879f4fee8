"""The OpenAPI 3.1 document of the operator API, served at ``GET /api/openapi.json``.

It is built from the code's own limits and names when the application is created,
and read without an API key: it holds no secrets, only the shape of the API.
"""

from __future__ import annotations

import orjson
from aiohttp import web

from tocsin.openapi.document import DOCUMENT_PATH, build_document

__all__ = ["DOCUMENT_PATH", "add_openapi_route", "build_document"]


def add_openapi_route(router: web.UrlDispatcher) -> None:
    """Registers ``GET /api/openapi.json``, the document encoded once."""
    body = orjson.dumps(build_document())

    async def openapi_document(_request: web.Request) -> web.Response:
        """Returns the OpenAPI document."""
        return web.Response(body=body, content_type="application/json")

    router.add_get(DOCUMENT_PATH, openapi_document)
