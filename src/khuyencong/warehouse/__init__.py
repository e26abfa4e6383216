"""The warehouse layer: the build database, its marts and their publication for BI tools."""
