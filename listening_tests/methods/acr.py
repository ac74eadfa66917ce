"""ACR (ITU-T P.808 absolute category rating): one clip, the five-point quality scale, MOS."""

from __future__ import annotations

from listening_tests.methods.single import ClipMethod

ACR_SCALE = ((1, "Bad"), (2, "Poor"), (3, "Fair"), (4, "Good"), (5, "Excellent"))
ACR_QUESTION = "How would you rate the quality of the speech you heard?"


class Acr(ClipMethod):
    name = "acr"
    title = "ACR (P.808 absolute category rating)"
    scale_names = ("acr",)
    mos_name = "MOS"
    scale = ACR_SCALE
    question = ACR_QUESTION
    exports = ("votes_per_clip.csv", "votes_per_cond.csv", "votes_per_worker.csv",
               "accept_reject.csv", "accept_reject_gui.csv", "urgent_labels.zip",
               "votes.parquet")
    dashboard = "mos"
    gives_mos_labels = True


METHOD = Acr()
