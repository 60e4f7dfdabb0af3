"""Tests for generations.forms.

The page and sign-up forms are tested through their pages (test_teams_pages, test_accounts).
"""
