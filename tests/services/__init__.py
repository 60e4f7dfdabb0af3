"""Tests for generations.services, one module each."""
