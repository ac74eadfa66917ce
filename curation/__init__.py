"""Data curation for SE training (URGENT 2026 focus 1): score a speech corpus with many
metrics (:mod:`curation.scoring`), select files by rules (:mod:`curation.rules`,
:mod:`curation.selection`) and report what was kept (:mod:`curation.report`).

Imports only :mod:`audio` and :mod:`sqa`, so it runs in a cluster job where no web app or
database exists. ``python -m curation score|select --help``.
"""
