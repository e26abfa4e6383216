"""The build database, its `raw` schema, and publication of the marts (DuckDB file, PostgreSQL)."""
