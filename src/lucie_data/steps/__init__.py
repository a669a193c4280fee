"""datatrove steps of our own: pure generators over `Document`s; they know nothing of YAML or the CLI."""
