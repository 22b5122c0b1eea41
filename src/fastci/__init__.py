"""fastci: make a Python project's CI fast."""

__version__ = "0.1.0"
