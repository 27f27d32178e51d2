"""`arena study`: how strength trades between training compute and search at play time.

A study trains one self-play learner per network size, keeping snapshots at fixed points of
training (`train`), rates every (snapshot, simulations) player against fixed anchors
(`rate`), and fits the compute frontier (`frontier`, `report`). Its grid (`grid`) is the
study's identity: a resumed study must have the same one.
"""
