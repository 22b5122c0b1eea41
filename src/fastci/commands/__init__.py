"""One module per fastci subcommand."""
