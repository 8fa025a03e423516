"""`python -m inspect_pipeline` runs the CLI."""

from .cli import main

main()
