"""Tests of `consult.schedule`."""
