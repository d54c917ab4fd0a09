"""Tests of `activation`."""
