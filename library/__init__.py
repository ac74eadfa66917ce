"""The clip library: adding, importing and finding clips, and seeding the demo set.

Sits on ``db`` (rows and the audio store) and ``audio`` (decoding and validation); the web
app and the command lines call it, never the other way round.
"""
