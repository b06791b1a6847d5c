"""Mechanisms of the alliance model: pure functions over numpy arrays (no Mesa, no I/O).

Array conventions, for N actors: ``commit[i, j]`` is what i invests in j (commitment units),
``tie[i, j]`` the mutual tie strength (symmetric), ``affinity[i, j]`` the signed affinity in
[-1, 1] (zero diagonal), ``value[i, j]`` what j is worth to i. The functions the model steps
with also take stacks of R replications, (R, N, N) and (R, N), for the batched engine
(:mod:`sim.batch`); see :mod:`sim.mechanisms.arrays`.
"""
