"""Accounts: roles, sign-in with an optional (staff: mandatory) second factor,
server-side sessions, staff accounts, the profile page, the audit log."""

