"""The blueprint language: load, validate, resolve."""
