"""Dataset sources -> tf.data pipelines, resolved offline-first (DESIGN.md section 5).

Submodules load lazily so that ``import mit_dl.data`` stays light.
"""
