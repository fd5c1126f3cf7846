"""Lecture 3 beyond classification: semantic segmentation and object detection on composed scenes.

- `config`: `VisionConfig` (task, model, scenes, sizes, schedule; presets ``quick`` and ``full``);
- `scenes`: scenes of real MNIST digits or Fashion-MNIST items over clutter, with
  per-pixel class masks and boxes (`make_scenes`);
- `data`: the scenes of a split, from disjoint source images, and their pipelines;
- `model`: the lecture's FCN and the U-Net, compiled with the per-pixel loss;
- `metrics`: box and mask IoU, non-maximum suppression, COCO-style mAP, mIoU;
- `train` (train, evaluate, plot, export), `evaluate` (``evaluate_export``) and `inspect` (explain, attack, features).
"""

from mit_dl.vision.config import VisionConfig

__all__ = ["VisionConfig"]
