"""Money is never taken unseen: a self-pay specialist appointment shows its price and
why on its card and on the confirm button; every refund is said where it happens; the
history keeps a receipt (amount, date, status in words, payment reference)."""

from __future__ import annotations

import html as html_module
import re
from datetime import timedelta

from consult import payments
from consult.duty.requests import ConsultationRequest, request_consultation
from consult.models import Consultation
from consult.schedule import booking
from consult.schedule.models import Appointment
from core import clock
from core.extensions import db
from tests.fixtures.accounts import sign_in
from tests.fixtures.schedule import MONDAY, _at, _request

WAITING_UNTIL = "April 3, 2026"  # activated 20 March: covered from 4 April


def _patient_client(app, patient):
    app.config.update(RATELIMIT_LOGIN_ACCOUNT_IP="1000 per minute",
                      RATELIMIT_SECOND_FACTOR="1000 per minute")
    c = app.test_client()
    c.set_cookie("lang", "en")
    assert sign_in(c, patient).status_code == 302
    return c


def _text(page: str) -> str:
    """The page's words, tags dropped and spaces (also non-breaking) made one."""
    words = html_module.unescape(re.sub(r"<[^>]+>", " ", page))
    return re.sub(r"\s+", " ", words.replace("\u00a0", " "))


def _paid_in_the_queue(client, activated_patient):
    """A patient in the waiting period who paid to join the on-duty queue (Monday
    06:00): the patient and the consultation."""
    clock.freeze(_at(MONDAY, 6) - timedelta(days=10))
    patient, insured = activated_patient(client)
    clock.freeze(_at(MONDAY, 6))
    c = request_consultation(patient, ConsultationRequest(
        insured.id, "Headache", "chat", True), "en")
    db.session.commit()
    return patient, c


def _booked(client, self_pay_referral) -> tuple[dict, Appointment]:
    r = self_pay_referral(client)
    appointment = booking.book(r["doctor"], r["consultation"].id, _request(r, 11))
    db.session.commit()
    return r, appointment


def test_the_card_shows_the_price_and_why_and_the_button_says_it_charges(app, client,
                                                                         no_csrf,
                                                                         self_pay_referral):
    r, appointment = _booked(client, self_pay_referral)
    page = _text(_patient_client(app, r["patient"]).get("/consult/appointments")
                 .get_data(as_text=True))
    assert (f"Self-pay: 5 000 ₸ — your policy's waiting period lasts until {WAITING_UNTIL}. "
            "Charged when you confirm.") in page
    assert "Confirm and pay 5 000 ₸" in page
    assert db.session.get(Consultation, appointment.consultation_id).payment_status == "pending"


def test_a_covered_appointment_shows_no_price_and_a_plain_confirm(app, referral):
    appointment = booking.book(referral["doctor"], referral["consultation"].id,
                               _request(referral, 11))
    db.session.commit()
    html = _patient_client(app, referral["patient"]).get("/consult/appointments")
    page = _text(html.get_data(as_text=True))
    assert "₸" not in page and "Confirm and pay" not in page
    assert re.search(rf'/consult/appointments/{appointment.id}/confirm".*?>\s*Confirm\s*<',
                     html.get_data(as_text=True), re.S)


def test_confirming_says_what_was_paid_and_cancelling_that_it_is_returned(app, client,
                                                                         no_csrf,
                                                                         self_pay_referral):
    r, appointment = _booked(client, self_pay_referral)
    patient = _patient_client(app, r["patient"])
    confirmed = patient.post(f"/consult/appointments/{appointment.id}/confirm",
                             follow_redirects=True)
    db.session.expire_all()
    held = db.session.get(Consultation, appointment.consultation_id)
    assert held.payment_status == "paid" and held.payment_reference
    page = _text(confirmed.get_data(as_text=True))
    assert ("Thank you: the appointment is confirmed and 5 000 ₸ is paid (payment "
            f"reference {held.payment_reference}).") in page
    assert f"Paid by you: 5 000 ₸ (payment reference {held.payment_reference})" in page
    assert "Confirm and pay" not in page

    cancelled = _text(patient.post(f"/consult/appointments/{appointment.id}/cancel",
                                   follow_redirects=True).get_data(as_text=True))
    assert "The appointment is cancelled; 5 000 ₸ will be returned." in cancelled
    assert f"5 000 ₸ refunded (payment reference {held.payment_reference})." in cancelled


def test_asking_for_another_time_says_the_payment_is_returned(app, client, no_csrf,
                                                              self_pay_referral):
    r, appointment = _booked(client, self_pay_referral)
    patient = _patient_client(app, r["patient"])
    patient.post(f"/consult/appointments/{appointment.id}/confirm")
    page = _text(patient.post(f"/consult/appointments/{appointment.id}/reschedule",
                              follow_redirects=True).get_data(as_text=True))
    assert ("Your request for another time was sent to the on-duty doctors; 5 000 ₸ will "
            "be returned.") in page


def test_a_repeated_answer_says_no_money_moved_again(app, client, no_csrf, self_pay_referral):
    r, appointment = _booked(client, self_pay_referral)
    patient = _patient_client(app, r["patient"])
    patient.post(f"/consult/appointments/{appointment.id}/confirm", follow_redirects=True)
    again = _text(patient.post(f"/consult/appointments/{appointment.id}/confirm",
                               follow_redirects=True).get_data(as_text=True))
    assert "Thank you: the appointment is confirmed." in again and "is paid" not in again
    patient.post(f"/consult/appointments/{appointment.id}/reschedule", follow_redirects=True)
    cancelled = _text(patient.post(f"/consult/appointments/{appointment.id}/cancel",
                                   follow_redirects=True).get_data(as_text=True))
    assert "The appointment is cancelled." in cancelled
    assert "will be returned" not in cancelled  # it was returned by the reschedule


class RefundRefused(payments.SandboxProvider):
    """A provider that takes payments but refuses every refund."""

    def refund(self, provider_reference, amount, currency):
        return payments.Outcome(payments.DECLINED, provider_reference)


def test_a_refused_refund_keeps_the_receipt_and_says_who_returns_the_money(
        app, client, no_csrf, activated_patient):

    app.config["PAYMENT_PROVIDER"] = f"{__name__}:RefundRefused"
    patient, c = _paid_in_the_queue(client, activated_patient)
    page = _patient_client(app, patient)
    left = _text(page.post(f"/consult/{c.id}/cancel", follow_redirects=True)
                 .get_data(as_text=True))
    assert "could not return 5 000 ₸ automatically; the contact centre will return it" in left
    assert "will be returned" not in left
    assert "Payment receipt" in left and "paid; being returned by the contact centre" in left
    db.session.expire_all()
    assert db.session.get(Consultation, c.id).payment_status == payments.REFUND_FAILED


def test_the_history_keeps_a_receipt_paid_then_refunded(app, client, no_csrf, self_pay_referral):
    r, appointment = _booked(client, self_pay_referral)
    clock.freeze(_at(MONDAY, 7, 30))
    patient = _patient_client(app, r["patient"])
    patient.post(f"/consult/appointments/{appointment.id}/confirm")
    db.session.expire_all()
    reference = db.session.get(Consultation, appointment.consultation_id).payment_reference
    page = _text(patient.get("/consult/history").get_data(as_text=True))
    # The on-duty consultation (paid when joining the queue) and the specialist's.
    assert page.count("Payment receipt") == 2
    assert (f"Amount 5 000 ₸ · self-pay consultation Paid on Mar 30, 2026, 7:30:00 AM "
            f"Status paid Payment reference {reference}") in page
    clock.freeze(_at(MONDAY, 8))
    patient.post(f"/consult/appointments/{appointment.id}/cancel")
    page = _text(patient.get("/consult/history").get_data(as_text=True))
    assert (f"Paid on Mar 30, 2026, 7:30:00 AM Status refunded on Mar 30, 2026, 8:00:00 AM "
            f"Payment reference {reference}") in page
    # The specialist consultation is listed at the appointment's time, cancelled.
    assert "Mar 30, 2026, 11:00:00 AM" in page


def test_leaving_the_queue_says_the_payment_is_returned_and_history_shows_it(
        app, client, no_csrf, activated_patient):

    patient, c = _paid_in_the_queue(client, activated_patient)
    reference = c.payment_reference
    page = _patient_client(app, patient)
    left = _text(page.post(f"/consult/{c.id}/cancel", follow_redirects=True)
                 .get_data(as_text=True))
    assert "You left the queue; 5 000 ₸ will be returned." in left
    assert f"Status refunded on Mar 30, 2026, 6:00:00 AM Payment reference {reference}" in left
    assert "Cancelled before a doctor took it" in left and "No doctor yet" not in left


def test_the_request_form_says_why_a_consultation_is_paid_and_until_when(app, client,
                                                                          no_csrf,
                                                                          activated_patient):
    clock.freeze(_at(MONDAY, 6) - timedelta(days=10))
    patient, _ = activated_patient(client)
    clock.freeze(_at(MONDAY, 6))
    page = _text(_patient_client(app, patient).get("/consult/new").get_data(as_text=True))
    assert (f"Иванов Иван Иванович: the policy's waiting period lasts until {WAITING_UNTIL}, "
            "so a consultation with the on-duty doctor today costs 5 000 ₸.") in page
    assert "Join the queue and pay 5 000 ₸" in page  # the amount is on the button too


def test_the_request_button_names_no_amount_when_the_policy_covers_it(app, client, no_csrf,
                                                                      activated_patient):
    clock.freeze(_at(MONDAY, 6) - timedelta(days=30))
    patient, _ = activated_patient(client)
    clock.freeze(_at(MONDAY, 6))
    page = _text(_patient_client(app, patient).get("/consult/new").get_data(as_text=True))
    assert "Join the queue" in page and "and pay" not in page and "₸" not in page
