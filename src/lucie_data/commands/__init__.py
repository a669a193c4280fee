"""Sub-commands beyond validate/build/stages/schema: one module each, with a `register(subparsers)`."""
