"""Tests of fastci.report."""
