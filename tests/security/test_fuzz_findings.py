"""What the API fuzzing found, each pinned by its own test: answers that broke the schema they are served with."""

import pytest

from alerts.models import AlertRule
from alerts.tokens import api_token_create
from tests.security.schema import CHECKS, api_schema

pytestmark = [pytest.mark.django_db, pytest.mark.usefixtures("requests_keep_the_test_connection")]

schema = api_schema()


def test_a_rule_with_any_direction_and_no_webhook_is_served_as_its_schema_says(user):
    rule = AlertRule.objects.create(owner=user, name="any direction", direction="")
    case = schema["/api/v1/alerts/rules/{rule_id}"]["GET"].Case(path_parameters={"rule_id": rule.id})

    response = case.call(headers={"Authorization": f"Token {api_token_create(user_id=user.pk, name='test')[1]}"})

    assert response.status_code == 200
    assert response.json()["direction"] == ""
    case.validate_response(response, checks=CHECKS)


@pytest.mark.parametrize("path", ["/api/v1/trading/orders/abc", "/api/v1/alerts/rules/null,null",
                                  "/api/v1/no-such-endpoint"])
def test_an_api_path_matching_no_route_answers_the_api_error_as_json(client, path):
    response = client.get(path)

    assert response.status_code == 404
    assert response["Content-Type"] == "application/json"
    assert response.json() == {"detail": "Not found.", "code": "not_found"}


def test_a_page_path_matching_no_route_still_answers_the_html_page(client):
    response = client.get("/no-such-page/")

    assert response.status_code == 404
    assert response["Content-Type"] == "text/html; charset=utf-8"
    assert b"<h1>Not Found</h1>" in response.content
