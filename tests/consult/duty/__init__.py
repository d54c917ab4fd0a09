"""Tests of `consult.duty`."""
