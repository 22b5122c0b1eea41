"""Tests of fastci.merge."""
