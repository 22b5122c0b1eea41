"""A small bookshop backend used as fastci's example project."""
