"""Tests of fastci.commands."""
