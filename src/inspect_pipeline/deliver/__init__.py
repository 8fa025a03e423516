"""Delivery: mail (with its record, never twice), the messages it carries, and the reminder rounds."""
