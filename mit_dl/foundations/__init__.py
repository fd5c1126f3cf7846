"""Lecture 1 from scratch (issue 45, in progress): the pieces every other lab stands on, each checked against TF.

- `autodiff`: reverse-mode automatic differentiation on NumPy arrays (vector-Jacobian products,
  topological ordering, gradient accumulation), forward mode beside it; equal to ``tf.GradientTape``.
- `optimizers`: SGD / momentum / Nesterov, AdaGrad, RMSProp, Adam, AdamW from their update
  equations, as Keras optimizers equal to the Keras twins.
- `normalization`: BatchNorm, LayerNorm, GroupNorm from their equations, equal to the Keras twins.
- `initialisation`: the schemes and the variance of signals and gradients through depth.
- `regularisation`: an L2 penalty against decoupled decay; dropout's two forms.
- `gradients`: vanishing gradients through layers and time steps; clipping.
- `landscapes`: optimizers on a valley, a banana and a saddle; the learning-rate range test.

Not yet a registered lab: its config, commands (``mit-dl foundations optimizers|init|norm|
regularise|gradients``), figures, docs page, notebook and benchmark come next.
"""
