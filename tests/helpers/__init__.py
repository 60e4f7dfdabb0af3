"""Helpers only tests need: one-shot passes and sums the site itself never runs."""
