"""The demo: a generated district (roster, two weeks of good, messy and bad files) run through the jobs."""
