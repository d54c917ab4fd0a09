"""How consultations plug into the app: each feature's pages, API, socket events, CLI
groups, background loops and the template helpers. The kernel modules never import this
one; it imports the features."""

from __future__ import annotations

from flask import Flask

from consult import doctors, payments
from consult.blueprint import bp
from consult.calls import check  # noqa: F401  (views register on bp)
from consult.calls import cli as calls_cli
from consult.calls import hooks as calls_hooks
from consult.calls import routes as calls_routes  # noqa: F401  (views)
from consult.documents import hooks as documents_hooks
from consult.documents import wiring as documents
from consult.duty import (  # noqa: F401  (views register on bp)
    api,
    api_doctors,
    desk,
    labels,
    operator,
    patient_now,
    redflags,
    room,
    routes,
)
from consult.duty import hooks as duty_hooks
from consult.schedule import cli as schedule_cli
from consult.schedule import context as schedule_context
from consult.schedule import hooks as schedule_hooks
from consult.schedule import labels as schedule_labels
from consult.schedule import manage as schedule_manage  # noqa: F401  (views)
from consult.schedule import notify
from consult.schedule import routes as schedule_routes  # noqa: F401  (views)


def init_app(app: Flask) -> None:
    """Register the pages, the API, the Socket.IO events, CLI groups and helpers."""
    notify.register()
    app.context_processor(schedule_context.banner)
    app.cli.add_command(schedule_cli.appointments_group)
    app.cli.add_command(calls_cli.media_group)
    app.extensions.setdefault("serve_background", []).append(schedule_cli.start_reminders)

    app.register_blueprint(bp)
    app.register_blueprint(api.bp)
    documents.init_app(app)
    app.jinja_env.globals.update(coverage_label=labels.coverage_label, money=payments.money,
                                 status_label=labels.status_label,
                                 call_event_text=labels.call_event_text,
                                 payment_label=labels.payment_label)
    app.jinja_env.globals.update(appointment_status=schedule_labels.status_words,
                                 appointment_price=schedule_labels.price_words,
                                 confirm_words=schedule_labels.confirm_words)
    app.extensions["specialties"] = doctors.specialties  # the staff pages' picker
    app.jinja_env.globals.update(doctor_label=doctors.doctor_label,
                                 doctor_languages=doctors.languages_of,
                                 language_names=doctors.language_names)
    # The emergency line (request form, waiting room) and the account page's "you are in
    # line" lines: callables, so only the pages that use them run them.
    app.jinja_env.globals.update(emergency_numbers=redflags.emergency_numbers,
                                 tel=redflags.tel, red_flag_signs=redflags.yes_labels,
                                 open_consultations=patient_now.open_consultations)
    duty_hooks.register()
    calls_hooks.register()
    schedule_hooks.register()
    documents_hooks.register()
