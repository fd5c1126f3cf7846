# %% [markdown]
# # Lab 1, part 2: Music generation with a recurrent neural network
#
# MIT 6.S191 with the `mit_dl` companion package. We train a character-level LSTM (lecture 2) on
# real Irish folk tunes written in ABC notation, sample new tunes from it and listen to them.
# Everything is offline: the tunes are O'Neill's 1850 collection, shipped in music21's corpus, and
# the audio is rendered locally (a built-in synthesiser, or real instruments with FluidSynth).
#
# Cells marked `# TODO` are yours; a checker from `mit_dl.labs.music` follows each exercise.
# `QUICK = True` trains a small model for about a minute (its songs will be rough); set
# `QUICK = False` for the course's model (LSTM 1024, 3,000 steps: best on a GPU).

# %%
from mit_dl.environment import quiet_tensorflow_startup

quiet_tensorflow_startup()  # TensorFlow without its C++ start-up lines (errors still show)

import pathlib

import keras
import matplotlib.pyplot as plt
import numpy as np
import tensorflow as tf
from IPython.display import Audio, display

from mit_dl import labs
from mit_dl.labs import music as checks
from mit_dl.music import audio, judging, songs
from mit_dl.music import data as music_data
from mit_dl.training import Trainer

QUICK = labs.quick_mode()
OUT = pathlib.Path("music_outputs")
OUT.mkdir(exist_ok=True)

# %% [markdown]
# ## 2.1 The data
#
# Each tune is one block of ABC text: header lines (`X:` number, `T:` title, `M:` meter, `L:` note
# length, `K:` key) and then the notes. O'Neill's tunes also carry lines about their source (book
# `B:`, notes `N:`, transcriber `Z:`); they are dropped here, as they say nothing about the music.
# The tunes are split by tune into training and held-out sets.

# %%
data = music_data.split_and_encode(seed=0)
train_tunes, held_out_tunes = data.train_tunes, data.val_tunes
print(f"{len(data.tunes)} tunes: {len(train_tunes)} for training, {len(held_out_tunes)} held out\n")
print(train_tunes[0])

# %% [markdown]
# Listen to a real tune: music21 turns the ABC into MIDI, `mit_dl.music.audio` renders the MIDI to a
# WAV file, and Jupyter plays it.

# %%
example = held_out_tunes[0]
check = songs.check_song(example, midi_path=OUT / "real_tune.mid")
print("valid ABC:", check.valid, "|", check.notes, "notes")
rendered = audio.render_wav(OUT / "real_tune.mid", OUT / "real_tune.wav")
print("rendered with", rendered["renderer"], f"({rendered['seconds']:.0f} s)")
display(Audio(str(OUT / "real_tune.wav")))

# %% [markdown]
# ## 2.2 From characters to numbers
#
# The network reads integers: every distinct character of the training text gets an id
# (`char2idx`), and `idx2char` maps back. **Exercise:** turn a string into an array of ids.

# %%
text = music_data.join_tunes(train_tunes)
vocab = music_data.Vocabulary.from_text(text)
char2idx = {c: i for i, c in enumerate(vocab.characters)}
idx2char = vocab.characters
print(f"{len(text):,} characters, {len(vocab)} distinct")


def vectorize_string(string, char2idx):
    # TODO: return a NumPy array with char2idx[c] for each character c of string
    ### BEGIN SOLUTION
    return np.array([char2idx[c] for c in string])
    ### END SOLUTION


checks.check_vectorize(vectorize_string)

# %%
vectorized_songs = vectorize_string(text, char2idx)
print(repr(text[:10]), "->", vectorized_songs[:10])

# %% [markdown]
# ## 2.3 Training examples
#
# The model learns to predict the next character. An example is a slice of `seq_length`
# characters, `input = text[i : i + L]`, and its target is the same slice one character later,
# `target = text[i + 1 : i + L + 1]`. **Exercise:** draw `batch_size` random start positions and
# build the input and target batches.


# %%
def get_batch(vectorized_songs, seq_length, batch_size):
    # TODO: draw batch_size random starts i, return (x_batch, y_batch) of shape [batch_size, seq_length]
    ### BEGIN SOLUTION
    starts = np.random.choice(len(vectorized_songs) - seq_length, batch_size)
    x_batch = np.stack([vectorized_songs[i : i + seq_length] for i in starts])
    y_batch = np.stack([vectorized_songs[i + 1 : i + seq_length + 1] for i in starts])
    ### END SOLUTION
    return x_batch, y_batch


checks.check_get_batch(get_batch)

# %%
x_batch, y_batch = get_batch(vectorized_songs, seq_length=10, batch_size=1)
for step, (i, t) in enumerate(zip(x_batch[0][:5], y_batch[0][:5])):
    print(f"step {step}: input {idx2char[i]!r}, expected next character {idx2char[t]!r}")

# %% [markdown]
# For training we use the same slices from `mit_dl.music.data.next_character_dataset`: a seeded
# `tf.data` pipeline that visits every start position in a new random order on each pass.

# %% [markdown]
# ## 2.4 The model
#
# Three layers (lecture 2):
# 1. `keras.layers.Embedding(vocab_size, embedding_dim)`: a learned vector per character;
# 2. `keras.layers.LSTM(rnn_units, return_sequences=True)`: the recurrent network, with an output at
#    every time step;
# 3. `keras.layers.Dense(vocab_size)`: logits over the next character (no softmax here: the loss
#    applies it).
#
# **Exercise:** build it as a `keras.Sequential`.


# %%
def build_model(vocab_size, embedding_dim, rnn_units):
    # TODO: return keras.Sequential([Embedding, LSTM(return_sequences=True), Dense(vocab_size)])
    ### BEGIN SOLUTION
    return keras.Sequential(
        [
            keras.Input((None,), dtype="int32"),
            keras.layers.Embedding(vocab_size, embedding_dim),
            keras.layers.LSTM(rnn_units, return_sequences=True),
            keras.layers.Dense(vocab_size),
        ]
    )
    ### END SOLUTION


checks.check_music_model(build_model)

# %% [markdown]
# ## 2.5 Loss and training step
#
# The loss is the cross-entropy between the true next character and the predicted distribution,
# averaged over every position: `keras.losses.sparse_categorical_crossentropy(labels, logits,
# from_logits=True)`. **Exercise:** write it, then a training step with `tf.GradientTape`:
# forward pass, loss, gradients, `optimizer.apply_gradients`.


# %%
def compute_loss(labels, logits):
    # TODO: the sparse categorical cross-entropy of the labels given the logits
    ### BEGIN SOLUTION
    return keras.losses.sparse_categorical_crossentropy(labels, logits, from_logits=True)
    ### END SOLUTION


checks.check_loss(compute_loss)


# %%
def train_step(model, optimizer, x, y):
    # TODO: on a tf.GradientTape compute the mean loss of model(x) against y, apply its gradients, return it
    ### BEGIN SOLUTION
    with tf.GradientTape() as tape:
        loss = tf.reduce_mean(compute_loss(y, model(x, training=True)))
    gradients = tape.gradient(loss, model.trainable_variables)
    optimizer.apply_gradients(zip(gradients, model.trainable_variables))
    ### END SOLUTION
    return loss


checks.check_train_step(train_step)

# %% [markdown]
# ## 2.6 Training
#
# `mit_dl.training.Trainer` runs your `train_step` compiled with `tf.function`, several steps per
# call, with a progress bar (checkpoints and `tf.distribute` too, when asked).

# %%
if QUICK:
    params = dict(embedding_dim=64, rnn_units=256, seq_length=100, batch_size=32, learning_rate=5e-3, steps=250)
else:  # the course's hyperparameters
    params = dict(embedding_dim=256, rnn_units=1024, seq_length=100, batch_size=8, learning_rate=5e-3, steps=3000)
keras.utils.set_random_seed(0)
model = build_model(len(vocab), params["embedding_dim"], params["rnn_units"])
optimizer = keras.optimizers.Adam(params["learning_rate"])
batches = music_data.next_character_dataset(vectorized_songs, params["seq_length"], params["batch_size"], seed=0)
trainer = Trainer(model, optimizer, train_step=lambda batch: {"loss": train_step(model, optimizer, *batch)})
history = trainer.fit(batches, steps=params["steps"], steps_per_epoch=params["steps"] // 10)

plt.plot(np.arange(1, 11) * params["steps"] // 10, history["loss"], marker="o")
plt.xlabel("step")
plt.ylabel("training loss (nats per character)")
plt.show()

# %% [markdown]
# How good is it on tunes it never saw? The held-out loss in bits per character (uniform guessing
# over the vocabulary would be log2(vocab size)).

# %%
held_out = music_data.next_character_dataset(
    data.val_ids, params["seq_length"], 64, shuffle=False, stride=params["seq_length"], drop_remainder=False
)
losses = [compute_loss(y, model(x)) for x, y in held_out]
nats = float(tf.reduce_mean(tf.concat([tf.reshape(batch_loss, [-1]) for batch_loss in losses], 0)))
print(f"held-out loss: {nats / np.log(2):.2f} bits per character (uniform: {np.log2(len(vocab)):.2f})")

# %% [markdown]
# ## 2.7 Generating music
#
# To write a tune the model starts from a seed text (`"X:"`, how every tune begins), samples the
# next character from the softmax of its logits divided by a temperature (lower: safer, higher:
# wilder), feeds it back in, and repeats while the LSTM carries its state. `mit_dl`'s
# `CompiledSampler` runs this whole loop inside one `tf.function` (a `tf.while_loop`), tens of
# times faster than a Python loop; `generate_rows` writes several songs in one loop, each with
# its own random seed. It needs the library's model, so we copy your trained weights into it.

# %%
from mit_dl.music.model import build_music_model
from mit_dl.music.sampler import CompiledSampler

generator_model = build_music_model(len(vocab), params["embedding_dim"], params["rnn_units"])
generator_model.set_weights(model.get_weights())
sampler = CompiledSampler(generator_model)

attempts = 3 if QUICK else 10
seed_ids = np.tile(vocab.encode("X:")[None, :], [attempts, 1])
ids = sampler.generate_rows(seed_ids, tf.constant(1500), tf.constant(1.0), tf.range(attempts, dtype=tf.int64))
texts = ["X:" + vocab.decode(row) for row in ids.numpy()]
print(texts[0][:400])

# %% [markdown]
# A song is valid when music21 can read it and write a MIDI file. Valid songs are rendered to WAV.

# %%
candidates = [(songs.extract_songs(t) or [None])[0] for t in texts]
summary = judging.judge_songs(candidates, attempts, out_dir=OUT)
print(f"{summary['valid']}/{attempts} generated songs are valid")
valid = [e["sample"] for e in summary["songs"] if e["valid"]]
if valid:
    print((OUT / f"song_{valid[0]:02d}.abc").read_text())
    display(Audio(str(OUT / f"song_{valid[0]:02d}.wav")))
else:
    print(
        "No valid song yet: the quick model is small and short-trained. Set QUICK = False (or train longer) "
        "for tunes; `mit-dl music train --preset lab` does it from the command line."
    )

# %% [markdown]
# Going further: `mit-dl music train --preset lab` trains the course's model with checkpoints and
# exports a SavedModel generator; `mit-dl music generate` writes and judges many songs, and measures
# how much of each is copied from the training tunes.
