"""Calls and recordings: audio and video calls between the patient and the doctor
(signaled over the room's socket), their recordings, and the connection test with its
aiortc media workers (:mod:`consult.calls.media`, which loads no Flask)."""
