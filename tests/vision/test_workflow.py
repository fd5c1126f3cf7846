"""The segmentation workflow end to end: CLI training, figures, metrics, and the export from a fresh process."""

import json

import numpy as np
import pytest
from support import run_fresh_python, run_mit_dl, shared_data

from mit_dl.errors import ConfigError
from mit_dl.vision import data as vision_data
from mit_dl.vision import inspect, metrics

TINY = ("--train-scenes", "64", "--test-scenes", "16", "--width", "4", "--steps", "4", "--eval-every", "2")


@pytest.fixture(scope="module")
def tiny_run(tmp_path_factory):
    folder = shared_data("mnist").parent
    out = tmp_path_factory.mktemp("vision") / "fcn"
    result = run_mit_dl("vision", "train", "--model", "fcn", "--data", str(folder), *TINY, "--out", str(out))
    assert result.returncode == 0, result.stderr[-3000:]
    return out, folder, result


def test_a_run_writes_its_figures_metrics_and_export(tiny_run):
    out, _, result = tiny_run
    assert "test scenes: mIoU" in result.stdout
    recorded = json.loads((out / "metrics.json").read_text())
    test = recorded["test"]
    assert set(test["class_iou"]) == {str(k) for k in range(10)}
    assert 0 <= test["constant_miou"] <= test["background_iou"] <= 1
    assert test["pixels"] == 16 * 128 * 128
    assert len(recorded["history"]["test_loss"]) == 2 and "[8000:10000]" in recorded["sources"]["test"]
    for name in ("segmentation.png", "training_curves.png"):
        assert (out / name).stat().st_size > 5000, name
    assert json.loads((out / "saved_model" / "metadata.json").read_text())["kind"] == "scene segmenter"


def test_the_export_segments_in_a_fresh_process_as_the_run_measured(tiny_run):
    out, folder, _ = tiny_run
    scenes, _ = vision_data.load_scenes("mnist", "test", 16, seed=0, data_dir=folder)
    np.save(out / "scenes.npy", scenes.images)
    output = run_fresh_python(f"""
        import numpy as np, tensorflow as tf, sys
        served = tf.saved_model.load("{out / "saved_model"}")
        images = np.load("{out / "scenes.npy"}")
        masks = served.segment(images)["masks"].numpy()
        np.save("{out / "masks.npy"}", masks)
        print(masks.dtype, masks.shape, "mit_dl" in sys.modules)
        for bad in (images.astype(np.float32) / 255, images[:, :64]):
            try:
                served.segment(bad)
            except Exception as error:
                print("refused:", " ".join(str(error).split()))
    """)
    lines = output.splitlines()
    assert lines[0] == "uint8 (16, 128, 128) False"
    assert "segment expects uint8 inputs; received float32" in lines[1]  # not cast to uint8 zeros
    assert "segment expects uint8 images [N, 128, 128, 1]" in lines[2]
    report = metrics.segmentation_report(scenes.masks, np.load(out / "masks.npy"), [str(k) for k in range(10)])
    recorded = json.loads((out / "metrics.json").read_text())["test"]
    assert report["miou"] == pytest.approx(recorded["miou"], abs=1e-9)


def test_evaluate_reads_the_export_and_refuses_other_folders(tiny_run, tmp_path):
    out, folder, _ = tiny_run
    result = run_mit_dl(
        "vision", "evaluate", "--model", str(out / "saved_model"), "--scenes", "16", "--data", str(folder)
    )
    assert result.returncode == 0, result.stderr[-2000:]
    assert "mnist test scenes (16, seed 0" in result.stdout and "IoU" in result.stdout
    bad = run_mit_dl("vision", "train", "--max-objects", "6", "--out", str(tmp_path / "bad"))
    assert bad.returncode != 0 and "--max-objects must be between 1 and 5" in bad.stderr
    assert "Traceback" not in bad.stderr


@pytest.fixture(scope="module")
def tiny_detector(tmp_path_factory):
    folder = shared_data("mnist").parent
    out = tmp_path_factory.mktemp("vision") / "detector"
    result = run_mit_dl("vision", "train", "--task", "detection", "--data", str(folder), *TINY, "--out", str(out))
    assert result.returncode == 0, result.stderr[-3000:]
    return out, folder, result


def test_the_detector_export_returns_padded_detections_as_the_run_measured(tiny_detector):
    out, folder, result = tiny_detector
    assert "test scenes: mAP@0.5" in result.stdout and (out / "detection.png").stat().st_size > 5000
    recorded = json.loads((out / "metrics.json").read_text())
    assert set(recorded["history"]) >= {"loss", "heatmap", "size", "offset"}
    scenes, _ = vision_data.load_scenes("mnist", "test", 16, seed=0, data_dir=folder)
    np.save(out / "scenes.npy", scenes.images)
    output = run_fresh_python(f"""
        import numpy as np, tensorflow as tf, sys
        served = tf.saved_model.load("{out / "saved_model"}")
        found = {{k: v.numpy() for k, v in served.detect(np.load("{out / "scenes.npy"}")).items()}}
        np.savez("{out / "found.npz"}", **found)
        shapes = (f"{{k}}:{{v.dtype}}:{{'x'.join(map(str, v.shape))}}" for k, v in sorted(found.items()))
        print(*shapes, "mit_dl" in sys.modules)
    """)
    assert output.split() == [
        "boxes:float32:16x100x4",
        "classes:int32:16x100",
        "count:int32:16",
        "scores:float32:16x100",
        "False",
    ]
    found = dict(np.load(out / "found.npz"))
    assert np.all(np.diff(found["scores"], axis=1) <= 0), "best first"
    assert all(np.all(found["scores"][i, c:] == 0) for i, c in enumerate(found["count"])), "padded with zeros"
    from mit_dl.vision.model import unpadded

    report = metrics.detection_report(
        unpadded(found), [scenes.objects(i) for i in range(16)], [str(k) for k in range(10)]
    )
    assert report["map_50"] == pytest.approx(recorded["test"]["map_50"], abs=1e-9)
    assert report["detections"] == recorded["test"]["detections"]


def test_explain_reads_a_segmentation_run_and_names_the_class_given_to_the_explained_object(tiny_run, tmp_path):
    out, _, _ = tiny_run
    report = inspect.explain(out, ["gradcam", "saliency"], images=2, out_dir=tmp_path)
    names = ["background", *(str(k) for k in range(10))]
    assert len(report["classes"]) == 2 and set(report["classes"]) <= set(names[1:])  # the topmost object's digit
    assert set(report["predicted"]) <= set(names) and (tmp_path / "explain-gradcam-saliency.png").is_file()
    with pytest.raises(ConfigError, match="^model must be an images run for an attack"):
        inspect.attack([out], "fgsm", [0], images=2, out_dir=tmp_path)
