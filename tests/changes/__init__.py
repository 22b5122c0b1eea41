"""Tests of fastci.changes."""
