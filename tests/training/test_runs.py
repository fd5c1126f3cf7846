"""A run directory remembers the settings it was started with; a resume must repeat them."""

import json

import pytest

from mit_dl.training.runs import SETTINGS_FILE, check_settings


def test_first_call_records_and_matching_calls_pass(tmp_path):
    check_settings(tmp_path / "run", {"preset": "quick", "seed": 0, "vocabulary": ("a", "b")})
    assert json.loads((tmp_path / "run" / SETTINGS_FILE).read_text()) == {
        "preset": "quick",
        "seed": 0,
        "vocabulary": ["a", "b"],
    }
    check_settings(tmp_path / "run", {"preset": "quick", "seed": 0, "vocabulary": ["a", "b"]})  # a resume


def test_other_settings_name_every_difference(tmp_path):
    check_settings(tmp_path, {"preset": "quick", "seed": 0, "headers": "musical"})
    with pytest.raises(ValueError) as error:
        check_settings(tmp_path, {"preset": "lab", "seed": 0, "headers": "all", "new": 1})
    message = str(error.value)
    assert "headers: 'musical' then, 'all' now" in message and "preset: 'quick' then, 'lab' now" in message
    assert "new: None then, 1 now" in message and "seed" not in message and "another --out" in message
    assert json.loads((tmp_path / SETTINGS_FILE).read_text())["preset"] == "quick"  # unchanged


def test_a_long_list_is_shown_by_its_length(tmp_path):
    check_settings(tmp_path, {"vocabulary": list("abcdefghij")})
    with pytest.raises(ValueError, match="vocabulary: 10 entries then, 11 entries now"):
        check_settings(tmp_path, {"vocabulary": list("abcdefghijk")})
