"""The rules a submission and the marts must pass: the GX file gate, history rules, the mart gate."""
