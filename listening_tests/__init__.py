"""Crowd listening tests (ITU-T P.808 ACR practice) as pure functions over plain data.

The core here knows nothing of databases or web pages: it takes a votes table (a pandas
DataFrame with one row per answer) or small dataclasses describing a rater session, and
returns MOS statistics with confidence intervals, significance tests between conditions,
rater reliability, P.808 quality-control decisions and P.808-compatible export tables. Keeping
it free of ORM objects lets the database layer, the rater pages and the command line share one
implementation and lets the tests check it against hand-computed numbers.
"""
