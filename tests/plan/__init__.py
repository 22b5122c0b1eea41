"""Tests of fastci.plan."""
