"""Tests of `consult.calls`."""
