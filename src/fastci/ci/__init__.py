"""CI providers: detecting where fastci runs, and writing workflows for them."""
