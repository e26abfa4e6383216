"""Khuyến công data warehouse."""
