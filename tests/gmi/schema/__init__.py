"""Tests for generations.gmi.schema, split like the package (names, values and prose are tested through the reader)."""
