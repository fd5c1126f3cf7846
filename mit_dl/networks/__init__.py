"""Networks that several labs build on, in one place: the course CNN (`cnn`) and the transformer decoder (`decoder`).

- `cnn`: MIT's Lab 2 CNN, the classifier the images lab trains, the uncertainty lab wraps and the
  generative lab measures its samples with.
- `decoder`: the decoder-only transformer of lecture 2 and its compiled samplers (a key/value
  cache, top-k / top-p, a stop token): the music lab's character transformer and the LLM lab's GPT.
"""
