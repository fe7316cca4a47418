"""`marl-ray compare`: variants x seeds trained as Tune runs, every final checkpoint evaluated
on the same seeded episodes, and a statistical report (IQM, stratified bootstrap intervals,
probability of improvement, sample-efficiency curves, performance profiles).

`spec` says what is compared, `run` trains and evaluates, `report` reads a compare folder.
"""
