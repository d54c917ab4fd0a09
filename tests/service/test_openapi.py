"""The OpenAPI document is generated from the code and is valid."""

from __future__ import annotations

import re

from openapi_spec_validator import validate


def test_openapi_document_is_valid_and_lists_the_activation_endpoint(client):
    r = client.get("/api/v1/openapi.json")
    assert r.status_code == 200
    spec = r.json
    validate(spec)
    op = spec["paths"]["/api/v1/activations"]["post"]
    assert set(op["responses"]) >= {"201", "409", "422", "429"}
    assert "ActivationRequest" in spec["components"]["schemas"]
    assert "Problem" in spec["components"]["schemas"]


def test_every_api_route_is_documented(app, client):
    spec = client.get("/api/v1/openapi.json").json
    for rule in app.url_map.iter_rules():
        if rule.rule.startswith("/api/v1/"):
            path = re.sub(r"<(?:[a-z]+:)?([a-z_]+)>", r"{\1}", rule.rule)
            assert path in spec["paths"], rule.rule
