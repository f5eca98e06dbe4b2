"""The `edge` command: one module per command, its parser beside its handler."""
