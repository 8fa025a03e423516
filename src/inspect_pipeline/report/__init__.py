"""The weekly report: its figures (computed once), the lists, the workbooks, the manifest, next week's templates, and the status a clerk sees."""
