"""Consultations: the on-duty queue, the real-time chat, audio and video calls (and
their recordings), the connection test, conclusions and history, medical documents
(consult.documents), and specialist appointments (consult.schedule)."""
