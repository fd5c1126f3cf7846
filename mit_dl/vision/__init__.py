"""Lecture 3 beyond classification: semantic segmentation and object detection on composed scenes.

- `scenes`: scenes of real MNIST digits or Fashion-MNIST items over clutter, with
  per-pixel class masks and boxes (`make_scenes`);
- `data`: the scenes of a split, from disjoint source images (`load_scenes`);
- `metrics`: box and mask IoU, non-maximum suppression, COCO-style mAP, mIoU.
"""
