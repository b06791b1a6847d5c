"""Classic alliance theories, on the same arrays as the agent model, each tested against its
published results. The agent model's mechanisms call these functions; no formula lives twice.

- :mod:`sim.theory.balance`: structural balance (Heider; Cartwright & Harary 1956), the
  continuous-time model of Marvel, Kleinberg, Kleinberg & Strogatz (2011), and the local and
  constrained triad dynamics of Antal, Krapivsky & Redner (2005).
- :mod:`sim.theory.landscape`: Axelrod & Bennett's (1993) landscape theory of aggregation.
- :mod:`sim.theory.bargaining`: Nash bargaining, the outside-option principle (Binmore,
  Rubinstein & Wolinsky 1986) and Emerson's (1962) power-dependence.
"""
