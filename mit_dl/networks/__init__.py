"""Networks that several labs build on, in one place: the course CNN (`cnn`).

- `cnn`: MIT's Lab 2 CNN, the classifier the images lab trains, the uncertainty lab wraps and the
  generative lab measures its samples with.
"""
