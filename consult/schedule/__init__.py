"""Specialist consultations at the time the on-duty doctor assigns: specialties and
specialists' availability (:mod:`.manage`), free slots (:mod:`.slots`), referral and
atomic booking (:mod:`.booking`), the patient's answers (:mod:`.appointments`), mail,
calendar files and reminders (:mod:`.notify`), and the appointment's room (:mod:`.rooms`)."""
