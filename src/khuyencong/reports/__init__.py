"""What the product writes for people: per-file error reports, the run summary, Data Docs."""
