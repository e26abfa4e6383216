"""Reading what provinces send: containers (xlsx, zipped CSV), sheets, rows, and the blank template."""
