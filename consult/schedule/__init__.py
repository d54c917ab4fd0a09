"""Specialist consultations at the time the on-duty doctor assigns: specialties and
specialists' availability (:mod:`.manage`), free slots (:mod:`.slots`), referral and
atomic booking (:mod:`.booking`), the patient's answers (:mod:`.appointments`), mail,
calendar files and reminders (:mod:`.notify`), and the appointment's room (:mod:`.rooms`).
What the room, the desk and the history show of appointments is :mod:`.context`, joined
to them through :mod:`.hooks`; what a referral shares of documents, :mod:`.referrals`."""
