"""The clerk's web page (工作台): server-rendered Chinese pages over the record, read through the same library
functions as the CLI and the reports, and actions that run the same jobs (operations.md §The web page). Never
imports Prefect; nothing below it imports this package."""
