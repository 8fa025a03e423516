"""Who must report (the roster) and who each school is for good (its id in the record, whatever its roster row says today)."""
