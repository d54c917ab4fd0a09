"""Tests of `accounts`."""
