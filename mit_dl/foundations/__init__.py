"""Lecture 1 from scratch (issue 45, in progress): automatic differentiation first.

- `autodiff`: reverse-mode automatic differentiation on NumPy arrays (vector-Jacobian products,
  topological ordering, gradient accumulation), forward mode beside it, checked against
  ``tf.GradientTape``.
"""
