"""Tests for generations.api: the REST endpoints and their representations."""
