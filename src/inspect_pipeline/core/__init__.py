"""The core every stage uses: settings, paths, weeks and their calendar, contracts, errors, atomic publishing, the run lock, logs and the terminal, worker pools."""
