"""The record: its tables, their migrations, and reading it for people."""
