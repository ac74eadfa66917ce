"""Speech quality assessment (URGENT 2026 Track 2): labels, predictions and their evaluation.

- :mod:`sqa.labels`: the :class:`~sqa.labels.LabelTable` schema, validation of a label file
  with every problem and its line, and per-listener scores averaged into MOS.
- :mod:`sqa.label_formats`: readers for the URGENT 2026 Track 2 CSV, BVCC per-listener and
  MOS-list files, and the NISQA corpus CSV.
- :mod:`sqa.metrics`: MSE, LCC, SRCC and KTAU at utterance and system level, and the
  ``mos.scp`` prediction format (``<id> <score>``).
- :mod:`sqa.features`, :mod:`sqa.model`, :mod:`sqa.losses`, :mod:`sqa.checkpoint`: the
  compact MOS predictor (16 kHz log-mel, conv + self-attention + attention pooling, listener
  embedding, mean-listener head, per-dataset bias, masked metric heads; about 1 M weights).
- ``python -m sqa.train`` (resumes, logs to CSV, DDP under torchrun), ``python -m
  sqa.predict`` (writes ``mos.scp``), ``python -m sqa.import`` (validate a label file and
  write a normalised table), ``python -m sqa.evaluate`` (score predictions against labels).

The package imports ``audio/`` only.
"""
