"""Specialist consultations at the time the on-duty doctor assigns: specialties,
specialists' working hours and exceptions, free slots, and atomic booking
(:mod:`.slots`, :mod:`.booking`). Pages, notifications and the appointment room come
next (issue 7 is in progress)."""
