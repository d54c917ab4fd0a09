"""The media worker: an asyncio process running aiortc, apart from the web app.

The web app never imports aiortc: it talks to workers over a small HTTP API on a
loopback or internal address (:mod:`consult.calls.media.client`), authenticated with a token
derived from ``SECRET_KEY`` (:mod:`consult.calls.media.common`). The worker itself is
:mod:`consult.calls.media.worker`; ``flask serve`` starts it as child processes
(:mod:`consult.calls.media.children`), ``flask media run`` runs one for production.
"""
