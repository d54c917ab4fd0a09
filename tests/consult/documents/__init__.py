"""Tests of `consult.documents`."""
