"""Tests of the GMI simulator itself (the `gmi_simulator` package), not of the app."""
