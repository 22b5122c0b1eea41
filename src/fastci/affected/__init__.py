"""Change-aware testing: what each test depends on, and which tests a change can affect."""
