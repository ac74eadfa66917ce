"""The web app: Gradio pages and a JSON API. Holds no logic: every handler calls a function of
``library``, ``db``, ``audio`` (and later ``se``, ``sqa``, ``listening_tests``)."""
