"""Assertions shared by the API tests."""


def assert_error(response, status: int, code: str) -> str:
    """Assert ``response`` is the API's error shape ``{"detail", "code"}`` with ``status`` and ``code``;
    return the detail text for the caller's own assertions."""
    assert response.status_code == status, response.content
    body = response.json()
    assert set(body) == {"detail", "code"}
    assert body["code"] == code
    return body["detail"]
