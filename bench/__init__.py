"""``make bench``: the performance targets, each measured as a ratio against a bare limit of this
stack in the same run (see ``bench/run.py``)."""
