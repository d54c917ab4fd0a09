"""The on-duty doctor: the request and red-flag check, the queue and shifts, the chat,
closing with a conclusion, history and the operator's live figures."""
