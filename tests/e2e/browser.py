"""Helpers of the browser tests: screenshots kept on failure, the account menu's links,
and signing in through the real pages."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

from accounts.models import User
from tests.fixtures.accounts import PASSWORD, code_for

ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


@contextmanager
def screenshots_on_failure(pages: dict[str, Any], prefix: str) -> Iterator[None]:
    """On any failure keep what each browser showed, as
    ``test-artifacts/<prefix>-<name>-failed.png``."""
    try:
        yield
    except BaseException:
        ARTIFACTS.mkdir(exist_ok=True)
        for name, page in pages.items():
            if not page.is_closed():
                page.screenshot(path=str(ARTIFACTS / f"{prefix}-{name}-failed.png"),
                                full_page=True)
        raise


def account_link(page: Any, name: str) -> Any:
    """The account menu's link called ``name``, with the menu opened first where it
    folds (on a phone the links sit behind the "Menu" button)."""
    if not page.locator("#menu").evaluate("menu => menu.open"):
        page.locator("#menu > summary").click()
    return page.get_by_role("navigation", name="Account").get_by_role("link", name=name)


def sign_in(page: Any, base: str, user: User, with_code: bool) -> None:
    """Sign in through the real pages, in English (the second factor for staff)."""
    page.goto(base + "/lang/en?next=/login")  # English even if the account says Russian
    page.get_by_label("Email").fill(user.email)
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    if with_code:
        page.wait_for_url("**/login/code*")
        page.get_by_label("Code").fill(code_for(user))
        page.get_by_role("button", name="Sign in").click()
