"""The OpenAPI schema as schemathesis sees it, and what the attack tests share to call the app with it."""

from functools import cache

import schemathesis
from django.core.wsgi import get_wsgi_application
from schemathesis.checks import not_a_server_error
from schemathesis.schemas import BaseSchema
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

# What every response must satisfy: no 5xx; a documented status code; a body and content type as documented.
CHECKS = [not_a_server_error, status_code_conformance, response_schema_conformance, content_type_conformance]


@cache
def api_schema() -> BaseSchema:
    """``/api/schema/`` (drf-spectacular) loaded through the WSGI app; its cases are sent to that app in
    process. Building the schema touches no database, so it may be loaded at collection time; loaded once."""
    return schemathesis.openapi.from_wsgi("/api/schema/", get_wsgi_application())
