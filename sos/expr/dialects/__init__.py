"""Dialects: one module per way of writing an expression out (or, for evaluate, of running it)."""
