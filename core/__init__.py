"""Shared kernel: app factory, configuration, extensions, clock, mail outbox."""
