"""Activation: the policy registry, online activation, coverage dates, Appendix 1."""
