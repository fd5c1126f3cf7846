"""Loaders every lab shares, resolved offline-first (docs/design.md, section 5).

- `idx`: the IDX file format (MNIST, Fashion-MNIST), gzipped or not;
- `mnist`: MNIST and Fashion-MNIST arrays and tf.data pipelines from local files, caches or tfds;
- `locations`: the folders searched for data, and whether a download can be tried.

A lab's own data (tunes, faces) lives in its package (``mit_dl.music.data``, ``mit_dl.faces.data``).
"""
