"""Consultations: the on-duty queue, the real-time chat, audio and video calls (and
their recordings), the connection test, conclusions and history, medical documents
(consult.documents), and specialist appointments (consult.schedule)."""

from __future__ import annotations

from flask import Blueprint, Flask

bp = Blueprint("consult", __name__, url_prefix="/consult")


def init_app(app: Flask) -> None:
    """Register the pages, the API and the Socket.IO events."""
    from consult import api, check, documents, payments, routes, sockets  # noqa: F401
    from consult.schedule import cli as schedule_cli
    from consult.schedule import manage as schedule_manage  # noqa: F401  (views)
    from consult.schedule import notify
    from consult.schedule import routes as schedule_routes  # noqa: F401  (views)

    notify.register()
    app.context_processor(schedule_routes.banner)
    app.cli.add_command(schedule_cli.appointments_group)
    app.extensions.setdefault("serve_background", []).append(schedule_cli.start_reminders)

    app.register_blueprint(bp)
    app.register_blueprint(api.bp)
    documents.init_app(app)
    app.jinja_env.globals.update(coverage_label=routes.coverage_label, money=payments.money,
                                 status_label=routes.status_label,
                                 call_event_text=routes.call_event_text,
                                 payment_label=routes.payment_label)
    from consult.schedule import labels as schedule_labels

    app.jinja_env.globals.update(appointment_status=schedule_labels.status_words,
                                 appointment_price=schedule_labels.price_words,
                                 confirm_words=schedule_labels.confirm_words)
    from consult import doctors

    app.extensions["specialties"] = doctors.specialties  # the staff pages' picker
    app.jinja_env.globals.update(doctor_label=doctors.doctor_label,
                                 doctor_languages=doctors.languages_of,
                                 language_names=doctors.language_names)
    from consult import patient_now, redflags

    # The emergency line (request form, waiting room) and the account page's "you are in
    # line" lines: callables, so only the pages that use them run them.
    app.jinja_env.globals.update(emergency_numbers=redflags.emergency_numbers,
                                 tel=redflags.tel, red_flag_signs=redflags.yes_labels,
                                 open_consultations=patient_now.open_consultations)
