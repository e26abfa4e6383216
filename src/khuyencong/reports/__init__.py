"""Reports for people: per-file error reports, the run summary and the conference report site."""
