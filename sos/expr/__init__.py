"""Rule expressions: parse (text → AST), typecheck (against a Scope), dialects (AST → text or a value)."""
