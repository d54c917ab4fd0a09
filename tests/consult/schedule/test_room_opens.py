"""Opening a specialist room is a GET: the room opens through its own short transaction
(not the request's), and the page that opened it already shows it open."""

from typing import Any

from flask import Flask

from consult.models import Consultation
from consult.schedule import booking
from core import clock
from core.extensions import db
from tests.fixtures.schedule import MONDAY, _at, _request


def test_the_page_that_opens_the_room_shows_it_open(app: Flask, referral: dict[str, Any],
                                                    signed_in_clients: Any) -> None:
    appointment = booking.book(referral["doctor"], referral["consultation"].id,
                               _request(referral, 11))
    db.session.commit()
    held = db.session.get(Consultation, appointment.consultation_id)
    assert held is not None and held.status == "scheduled"
    clock.freeze(_at(MONDAY, 10, 55))
    patient, specialist = signed_in_clients(referral["patient"], referral["specialist"])
    for client in (specialist, patient):
        page = client.get(f"/consult/{held.id}").get_data(as_text=True)
        assert "The consultation opens at" not in page
    db.session.expire_all()
    assert db.session.get(Consultation, held.id).status == "active"  # type: ignore[union-attr]
