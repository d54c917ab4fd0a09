"""One commit point per request: the unit of work of HTTP views.

Views, and the services they call, only flush. When the view of a writing request
(POST and the like) returns, the request's transaction is committed once; when it
raises, it is rolled back — except a :class:`Refusal` that ``keeps_changes`` (a wrong
code's failure counter), which is committed before it becomes its response. Work that
must wait for the commit (socket emits, handing a file to a worker) is registered with
:func:`after_commit`. GET views do not write; audit entries have their own path.

Refusals become responses here, not in each view: under ``/api/`` the problem document,
on pages the handler the view names with :func:`on_refusal`, else (404 aside) the
message flashed and a redirect back to where the person came from.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from functools import wraps
from typing import Any, TypeVar
from urllib.parse import urlsplit

from flask import Flask, current_app, flash, redirect, request
from flask.typing import ResponseReturnValue
from flask_babel import gettext as _
from sqlalchemy import event
from sqlalchemy.orm import Session, SessionTransaction
from werkzeug.exceptions import HTTPException, NotFound

from core.db import SAFE_METHODS, writing
from core.extensions import db
from core.i18n import safe_next
from core.problems import is_api_request, problem, render_error_page

F = TypeVar("F", bound=Callable[..., Any])
RefusalPage = Callable[..., ResponseReturnValue]


class Refusal(Exception):
    """A rule of the domain says no: ``status`` (HTTP), ``detail`` (a message for the
    person, in their language) and optional field ``errors``. Domains subclass it."""

    status: int = 422
    keeps_changes: bool = False  # commit what the refused action wrote (a failure counter)

    def __init__(self, detail: str, status: int | None = None,
                 errors: dict[str, list[str]] | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        if status is not None:
            self.status = status
        self.errors = errors or {}

    @property
    def title(self) -> str:
        return _("Request refused")

    def headers(self) -> dict[str, str]:
        """Extra response headers (``Retry-After``)."""
        retry = getattr(self, "retry_after", None)
        return {"Retry-After": str(retry)} if retry else {}

    def problem_extra(self) -> dict[str, Any]:
        """Members added to the problem document (e.g. the open consultation's id)."""
        return {}


_refusal_pages: dict[Callable[..., Any], RefusalPage] = {}


def on_refusal(page: RefusalPage) -> Callable[[F], F]:
    """Name the page a refusal of this view becomes: ``page(exc, **view_args)`` returns
    the response (the form again with the message, or a redirect)."""

    def register(view: F) -> F:
        _refusal_pages[view] = page
        return view

    return register


_pending: ContextVar[list[Callable[[], Any]] | None] = ContextVar("after_commit", default=None)


def after_commit(work: Callable[[], Any]) -> None:
    """Run ``work`` once the current unit of work (a writing request's or a
    :func:`transaction`'s) has committed, in order of registration; it is dropped when
    the unit rolls back. Outside a unit of work it runs at once."""
    pending = _pending.get()
    if pending is None:
        work()
    else:
        pending.append(work)


def _end_refused(exc: Refusal) -> None:
    """Roll back a refused unit, or commit what it wrote when the refusal keeps it (its
    after-commit work is dropped all the same: the action itself was refused)."""
    if not exc.keeps_changes:
        db.session.rollback()
        return
    try:
        db.session.commit()
    except BaseException:
        db.session.rollback()
        raise


@contextmanager
def _unit() -> Iterator[None]:
    """Commit when the block ends, roll back when it raises (a refusal that
    ``keeps_changes`` commits), then run the :func:`after_commit` work."""
    token = _pending.set([])
    try:
        try:
            yield
            db.session.commit()
        except Refusal as exc:
            _end_refused(exc)
            raise
        except BaseException:
            db.session.rollback()
            raise
        works = _pending.get() or []
    finally:
        _pending.reset(token)
    for work in works:
        work()


@contextmanager
def transaction() -> Iterator[None]:
    """One unit of work outside a request (a CLI command, a background loop, a socket
    event): it begins as a writer, commits when the block ends, rolls back when it
    raises; then the :func:`after_commit` work registered inside it runs. Inside a unit
    of work already, it joins that one."""
    if _pending.get() is not None:
        yield
        return
    with writing(), _unit():
        yield


def release_reads() -> None:
    """End the request's transaction so far — loading the user and noting their
    activity, nothing the view decided — so that slow work that follows (receiving,
    decoding and sealing a file, waiting for a media worker) holds no database lock: on
    SQLite a writing request's transaction is the one writer's place. The view's own
    writes come after, and the unit of work commits them once at its end."""
    db.session.commit()


def on_rollback(work: Callable[[], Any]) -> None:
    """Run ``work`` if the transaction that begins now ends without committing (a
    refusal, an error, a failed commit): what was written outside the database for it,
    such as a sealed file, is removed again."""
    session = db.session()
    session.connection()  # begin it now, so "the transaction" is this one
    transaction = session.get_transaction()
    committed: list[bool] = []

    def on_commit(_session: Session) -> None:
        committed.append(True)

    def on_end(_session: Session, ended: SessionTransaction) -> None:
        if ended is transaction and not committed:
            work()

    event.listen(session, "after_commit", on_commit)
    event.listen(session, "after_transaction_end", on_end)


def unit_of_work(view: F) -> F:
    """Wrap a view: a writing request commits once when the view returns, rolls back
    when it raises (a refusal that ``keeps_changes`` commits), and then runs the
    :func:`after_commit` work."""

    @wraps(view)
    def run(*args: Any, **kwargs: Any) -> Any:
        if request.method in SAFE_METHODS:
            return view(*args, **kwargs)
        with _unit():
            return view(*args, **kwargs)

    return run  # type: ignore[return-value]


def refusal_response(exc: Refusal) -> ResponseReturnValue:
    """The response a refusal becomes (see the module's docstring)."""
    if is_api_request():
        return problem(exc.status, exc.title, exc.detail, errors=exc.errors,
                       headers=exc.headers(), **exc.problem_extra())
    page = _refusal_page(current_app.view_functions.get(request.endpoint or ""))
    if page is not None:
        try:
            return page(exc, **(request.view_args or {}))
        except HTTPException as error:  # a page that aborts: its error page, not a 500
            return render_error_page(error)
    if exc.status == 404:
        # The 404 page itself: an abort() here would escape the error handler (a 500).
        return render_error_page(NotFound())
    flash(exc.detail, "error")
    return redirect(back())


def _refusal_page(view: Callable[..., Any] | None) -> RefusalPage | None:
    """The page :func:`on_refusal` named for ``view`` or any function it wraps."""
    while view is not None:
        if view in _refusal_pages:
            return _refusal_pages[view]
        view = getattr(view, "__wrapped__", None)
    return None


def back(default: str = "/") -> str:
    """The page the person came from, when it is a page of this site (never another
    host: :func:`core.i18n.safe_next`); else ``default``."""
    parts = urlsplit(request.referrer or "")
    if parts.netloc != request.host:
        return default
    return safe_next(parts.path + (f"?{parts.query}" if parts.query else ""), default)


def init_app(app: Flask) -> None:
    """Wrap every view registered so far in :func:`unit_of_work` and answer refusals.
    Call it once all blueprints are registered."""
    wrapped = app.extensions.setdefault("unit_of_work_views", set())
    for endpoint, view in list(app.view_functions.items()):
        if view not in wrapped:
            app.view_functions[endpoint] = unit_of_work(view)
            wrapped.add(app.view_functions[endpoint])
    app.register_error_handler(Refusal, refusal_response)
