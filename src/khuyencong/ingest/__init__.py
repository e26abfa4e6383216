"""Reading submission files: container, pre-flight checks, reader, normalisation."""
