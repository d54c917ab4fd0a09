"""The doctors' and operators' endpoints of the consultations API (the same ``consult_api``
blueprint as :mod:`consult.duty.api`): the queue, taking a patient, the live figures."""

from __future__ import annotations

from flask_babel import ngettext
from flask_login import current_user
from werkzeug.wrappers import Response

from consult import doctors
from consult.duty import announce, queue, redflags, shifts
from consult.duty.api import bp, payload
from consult.duty.figures import stats
from core import clock
from core.access import allow
from core.jsonutil import json_response


@bp.get("/queue")
@allow("doctor")
def get_queue() -> Response:
    """The on-duty queue the doctor may take from.
    ---
    get:
      summary: Waiting patients, oldest first
      tags: [doctors]
      responses:
        "200":
          description: The queue (empty when the doctor is not on shift).
          content:
            application/json:
              schema:
                type: object
                properties:
                  on_shift: {type: boolean}
                  items:
                    type: array
                    items:
                      type: object
                      properties:
                        id: {type: integer}
                        age: {type: integer}
                        age_label: {type: string, description: "The age in words, e.g. 7 years."}
                        product: {type: string}
                        complaint: {type: string}
                        channel: {type: string}
                        language: {type: string}
                        language_name: {type: string}
                        language_match:
                          type: boolean
                          description: The doctor speaks the patient's language.
                        waiting_seconds: {type: integer}
                        red_flag:
                          type: boolean
                          description: A red-flag sign was answered yes (listed first).
                        red_flag_signs:
                          type: array
                          items: {type: string}
                          description: The signs answered yes, in words.
    """
    on_shift = shifts.is_on_shift(current_user)
    today, now = clock.today(), clock.now()
    spoken = doctors.languages_of(current_user)
    items = [{
        "id": c.id, "age": queue.age_of(c, today),
        "age_label": ngettext("%(num)s year", "%(num)s years", queue.age_of(c, today)),
        "product": c.product,
        "complaint": c.complaint, "channel": c.channel, "language": c.language,
        "language_name": doctors.language_names([c.language]),
        "language_match": c.language in spoken,
        "waiting_seconds": int((now - c.requested_at).total_seconds()),
        "red_flag": c.red_flag, "red_flag_signs": redflags.yes_labels(c),
    } for c in (queue.queue(current_user) if on_shift else [])]
    return json_response({"on_shift": on_shift, "items": items})


@bp.post("/consultations/<int:consultation_id>/take")
@allow("doctor")
def take_consultation(consultation_id: int) -> Response:
    """Take a waiting patient.
    ---
    post:
      summary: Take a patient from the queue (atomic)
      tags: [doctors]
      parameters:
        - {name: consultation_id, in: path, required: true, schema: {type: integer}}
      responses:
        "200":
          description: The consultation is yours.
          content:
            application/json:
              schema: {$ref: "#/components/schemas/Consultation"}
        "409":
          description: Already taken by another doctor, not on shift, or at the chat limit.
          content:
            application/problem+json:
              schema: {$ref: "#/components/schemas/Problem"}
    """
    consultation = queue.take(current_user, consultation_id)
    announce.left(consultation)
    return json_response(payload(consultation))


@bp.get("/operator/stats")
@allow("operator", "admin")
def operator_stats() -> Response:
    """The figures of the operator's live view.
    ---
    get:
      summary: Queue and consultation figures
      tags: [operators]
      responses:
        "200":
          description: Current figures; waits in seconds over the last 24 hours.
          content:
            application/json:
              schema:
                type: object
                properties:
                  queue_length: {type: integer}
                  longest_wait_seconds: {type: integer}
                  doctors_on_shift: {type: integer}
                  in_progress: {type: integer}
                  taken_last_24h: {type: integer}
                  median_wait_seconds: {type: ["integer", "null"]}
                  p90_wait_seconds: {type: ["integer", "null"]}
    """
    return json_response(stats())
