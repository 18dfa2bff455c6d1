"""Service functions over the database, one module per resource (keyword-only arguments)."""
