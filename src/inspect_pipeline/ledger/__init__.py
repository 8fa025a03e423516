"""Hazards across weeks: matching a file's rows to known hazards, first weeks in week order, and the ledger's current page."""
