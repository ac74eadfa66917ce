"""Speech enhancement: systems, their command-line use and their evaluation."""
