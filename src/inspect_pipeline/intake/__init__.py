"""Intake: take the inbox into the archive, read and understand each file, validate it, decide what it is, record it, and answer with receipts and the week's intake manifest."""
