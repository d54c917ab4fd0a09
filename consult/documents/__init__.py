"""Medical documents: patients upload scans and photos (from their account or inside a
consultation), doctors holding a consultation with them view and review them. Files are
cleaned (:mod:`.intake`), optionally virus-scanned (:mod:`.scan`), sealed with
AES-256-GCM and stored under random names (:mod:`.vault`, :mod:`core.storage`); the
upload's rules are :mod:`.uploads`, who sees what :mod:`.services`, and what a referral
shares with a specialist comes from scheduling through :mod:`.sharing`."""
