"""Tests of `consult`: the kernel here, each feature in its folder."""
