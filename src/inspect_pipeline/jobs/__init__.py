"""Jobs over the stages: setting up a data root, rebuilding a week from the archive, restoring a lost record."""
