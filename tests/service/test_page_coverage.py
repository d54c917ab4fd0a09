"""Every endpoint of the app either has its page checked by axe in
tests/e2e/test_accessibility.py or says why it has no page (JSON, file, POST only,
socket). A new route fails here until it gets one or the other; no browser needed."""

from __future__ import annotations

import pytest
from werkzeug.exceptions import NotFound

from tests.e2e.test_accessibility import NOT_PAGES, PAGES


@pytest.fixture
def app_config():
    return {"DEMO": True}  # the dev mailbox's routes exist only in demo mode


def test_every_endpoint_has_an_axe_run_or_a_reason_it_is_not_a_page(app):
    endpoints = {r.endpoint for r in app.url_map.iter_rules() if r.endpoint != "static"}
    checked = {p.endpoint for p in PAGES if p.endpoint is not None}
    missing = sorted(endpoints - checked - set(NOT_PAGES))
    assert not missing, ("add these endpoints to PAGES (an axe run) or NOT_PAGES (why it "
                         f"is not a page) in tests/e2e/test_accessibility.py: {missing}")
    assert not checked & set(NOT_PAGES), "an endpoint is both checked and excused"
    stale = sorted((checked | set(NOT_PAGES)) - endpoints)
    assert not stale, f"these endpoints no longer exist: {stale}"


def test_each_listed_page_is_reached_at_the_endpoint_it_names(app):
    adapter = app.url_map.bind("localhost")
    sample = {"active": 1, "closed": 2, "waiting": 3, "held": 4, "specialty": 5,
              "document": 6, "mail": 7, "specialist_id": 8,
              "set_password": "/password/set/some-token"}
    for page in PAGES:
        path = page.path(sample).split("?")[0]
        if page.endpoint is None:
            with pytest.raises(NotFound):
                adapter.match(path)
        else:
            assert adapter.match(path)[0] == page.endpoint, page.label
