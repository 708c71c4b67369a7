"""The blueprint language: load (yaml), validate (schema, checks), resolve (extends) → Blueprint."""
