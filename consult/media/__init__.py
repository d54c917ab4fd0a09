"""The media worker: an asyncio process running aiortc, apart from the web app.

The web app never imports aiortc: it talks to workers over a small HTTP API on a
loopback or internal address (:mod:`consult.media.client`), authenticated with a token
derived from ``SECRET_KEY`` (:mod:`consult.media.common`). The worker itself is
:mod:`consult.media.worker`; ``flask serve`` starts it as child processes
(:mod:`consult.media.children`), ``flask media run`` runs one for production.
"""
