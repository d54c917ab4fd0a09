"""What the server tells connected browsers, after the change is committed.

Rooms: ``consultation:<id>`` holds the consultation's patient and doctor;
``queue:<product>`` holds the doctors on shift who can take that product; ``user:<id>``
holds every page of one signed-in person (a call rings on a doctor's desk too). With
``SOCKETIO_MESSAGE_QUEUE`` (Redis) every process's clients receive every emit.
"""

from __future__ import annotations

from typing import Any

from consult.doctors import doctor_label
from consult.line import line_info
from consult.models import ChatMessage, Consultation
from core.extensions import socketio


def room(consultation_id: int) -> str:
    return f"consultation:{consultation_id}"


def queue_room(product: str) -> str:
    return f"queue:{product}"


def user_room(user_id: int) -> str:
    return f"user:{user_id}"


def status_payload(consultation: Consultation) -> dict[str, Any]:
    doctor = consultation.doctor
    return {
        "consultation": consultation.id,
        "status": consultation.status,
        # Sent from the doctor's request, read on the patient's page: in their language.
        "doctor": doctor_label(doctor, consultation.language) if doctor is not None else None,
    }


def message_payload(message: ChatMessage, consultation: Consultation) -> dict[str, Any]:
    """A chat message as the clients see it (the body is escaped by whoever shows it).
    A call event of the timeline has an empty body and ``call``: its id, event (started,
    ended, declined, missed), kind, the side it was by and the duration in seconds."""
    payload = {
        "id": message.id,
        "consultation": consultation.id,
        "client_id": message.client_id,
        "from": consultation.side_of(message.sender_id),
        "body": message.body,
        "sent_at": message.sent_at.isoformat(),
    }
    event = message.call_event
    if event is not None:
        payload["call"] = {"id": message.call_id, **event}
        payload["body"] = ""
    return payload


def message(payload: dict[str, Any], skip_sid: str | None = None) -> None:
    """A stored chat message, to both participants' open pages (but ``skip_sid``)."""
    socketio.emit("message", payload, to=room(payload["consultation"]), skip_sid=skip_sid)


def status(consultation: Consultation, **extra: Any) -> None:
    """The consultation was taken, closed or cancelled (``extra``: more the pages use,
    e.g. ``appointment_status`` when the patient answered a specialist appointment)."""
    socketio.emit("status", {**status_payload(consultation), **extra},
                  to=room(consultation.id))


def queue_changed(product: str, kind: str, consultation_id: int | None = None, *,
                  red_flag: bool = False) -> None:
    """The ``product`` line changed: each waiting patient gets their place, estimate and
    the number of doctors on duty; the doctors on shift an update (``kind`` = joined,
    left, or shift when a doctor started or ended one; ``red_flag`` when the one who
    joined answered a red-flag sign "yes"). Only ``joined`` rings."""
    line = line_info(product)
    for info in line:
        socketio.emit("position", info, to=room(info["consultation"]))
    socketio.emit("queue", {"product": product, "kind": kind, "length": len(line),
                            "consultation": consultation_id, "red_flag": red_flag},
                  to=queue_room(product))


def call_state(state: dict[str, Any], callee_id: int | None = None) -> None:
    """A call started, was answered, declined or ended (``consult.calls.services.call_payload``).
    The callee's other pages (a doctor at the desk) hear it as ``ring``, with the room's
    address, so the call is announced wherever they are and silenced when it is over."""
    socketio.emit("call", state, to=room(state["consultation"]))
    if callee_id is not None:
        socketio.emit("ring", {**state, "url": f"/consult/{state['consultation']}"},
                      to=user_room(callee_id))


def recording(consultation_id: int, state: dict[str, Any]) -> None:
    """A call's recording changed (``consult.calls.recordings.payload``)."""
    socketio.emit("call_recording", state, to=room(consultation_id))


def documents_changed(consultation_id: int) -> None:
    """A document was uploaded in the consultation or reviewed: both pages reload their
    documents panel (the event carries no contents)."""
    socketio.emit("documents", {"consultation": consultation_id}, to=room(consultation_id))


def appointment_booked(consultation_id: int, appointment_id: int) -> None:
    """A specialist appointment was booked from the consultation, or the patient
    answered it: both pages reload their appointments panel."""
    socketio.emit("appointment", {"consultation": consultation_id,
                                  "appointment": appointment_id}, to=room(consultation_id))
