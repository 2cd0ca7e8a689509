"""The dataset loader: presets, validation errors, group splits and training examples."""

from __future__ import annotations

import csv
import json
import random
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from models.profiles import PROFILES
from models.prompts import section_instruction, section_prompt
from models.text import normalize
from schemas.notes import NoteFormat
from training_jobs.data import (
    ACI_DIVISIONS,
    DatasetError,
    Pair,
    load_aci_divisions,
    load_pairs,
    split_pairs,
    to_examples,
)

SENTINEL = "ZQX-SENTINEL-4471"


def write_csv(path: Path, header: list[str], rows: list[list[str]]) -> Path:
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(header)
        writer.writerows(rows)
    return path


def test_own_preset_reads_all_columns(tmp_path):
    path = write_csv(
        tmp_path / "own.csv",
        ["transcript", "note", "section", "group"],
        [
            [
                "Therapist: How was the week?\nClient: Better.  ",
                " Client reports a better week. ",
                "subjective",
                "s1",
            ],
            ["Therapist: Any plans?\nClient: Walk daily.", "Walk daily.", "plan", "s1"],
        ],
    )
    pairs = load_pairs(path)
    assert [(p.row, p.section, p.group) for p in pairs] == [
        (1, "subjective", "s1"),
        (2, "plan", "s1"),
    ]
    assert pairs[0].transcript == normalize("Therapist: How was the week?\nClient: Better.")
    assert pairs[0].target == normalize("Client reports a better week.")
    assert pairs.dropped == ()


def test_own_preset_without_optional_columns(tmp_path):
    path = write_csv(tmp_path / "own.csv", ["transcript", "note"], [["a b", "c"], ["d e", "f"]])
    pairs = load_pairs(path)
    assert {p.section for p in pairs} == {"note"}
    assert len({p.group for p in pairs}) == 2


def test_mts_preset_groups_repeated_dialogues(tmp_path):
    dialogue = "Doctor: What brings you in?\nPatient: A headache."
    path = write_csv(
        tmp_path / "MTS-Dialog-TrainingSet.csv",
        ["ID", "section_header", "section_text", "dialogue"],
        [
            ["0", "GENHX", "Headache for two days.", dialogue],
            ["1", "CC", "Headache.", dialogue + "  "],
            ["2", "ROS", "Negative.", "Doctor: Anything else?\nPatient: No."],
        ],
    )
    pairs = load_pairs(path, "mts")
    assert [(p.row, p.id, p.section) for p in pairs] == [
        (1, "0", "GENHX"),
        (2, "1", "CC"),
        (3, "2", "ROS"),
    ]
    assert pairs[0].group == pairs[1].group != pairs[2].group
    assert pairs[0].target == normalize("Headache for two days.")


def test_aci_preset_groups_by_encounter(tmp_path):
    path = write_csv(
        tmp_path / "train.csv",
        ["dataset", "encounter_id", "dialogue", "note"],
        [
            [
                "virtassist",
                "D2N001",
                "[doctor] hi .\n[patient] hello .",
                "CHIEF COMPLAINT\n\nAnnual exam.",
            ],
            ["virtscribe", "D2N002", "[doctor] how are you ?", "HISTORY\n\nKnee pain."],
        ],
    )
    pairs = load_pairs(path, "aci")
    assert [(p.group, p.id, p.section) for p in pairs] == [
        ("D2N001", "D2N001", "note"),
        ("D2N002", "D2N002", "note"),
    ]


def test_aci_divisions(tmp_path):
    for division in ACI_DIVISIONS:
        data = [
            {
                "src": f"[doctor] visit {i}",
                "tgt": f"{division} text {i}",
                "file": f"D2N00{i}-virtassist-{division}",
            }
            for i in (1, 2)
        ]
        (tmp_path / f"train_{division}.json").write_text(json.dumps({"data": data}), encoding="utf-8")
    pairs = load_aci_divisions(tmp_path, "train")
    assert len(pairs) == 8
    assert {p.section for p in pairs} == set(ACI_DIVISIONS)
    assert {p.group for p in pairs} == {"D2N001", "D2N002"}
    assert pairs[0].id == "D2N001-virtassist-subjective"


def test_aci_divisions_problems_name_the_file(tmp_path):
    data = [
        {"src": SENTINEL, "tgt": "", "file": "D2N001-x-subjective"},
        {"src": "a", "file": "D2N002-x"},
    ]
    (tmp_path / "valid_subjective.json").write_text(json.dumps({"data": data}), encoding="utf-8")
    with pytest.raises(DatasetError) as err:
        load_aci_divisions(tmp_path, "valid", divisions=["subjective"])
    message = str(err.value)
    assert "valid_subjective.json row 1: empty target" in message
    assert "valid_subjective.json row 2: missing tgt" in message
    assert SENTINEL not in message


def test_all_problems_in_one_error_without_text(tmp_path):
    long_text = " ".join([SENTINEL] * 50)
    path = write_csv(
        tmp_path / "train.csv",
        ["transcript", "note"],
        [
            [f"{SENTINEL} good", f"{SENTINEL} note"],
            ["   ", f"{SENTINEL} orphan note"],
            [f"{SENTINEL} no note", ""],
            [f"{SENTINEL} good", f"{SENTINEL} note"],
            [long_text, "short"],
            ["", ""],
        ],
    )
    with pytest.raises(DatasetError) as err:
        load_pairs(path, max_tokens=80, count_tokens=lambda text: len(text.split()))
    message = str(err.value)
    assert message.startswith("5 bad rows in train.csv: ")
    assert "row 2: empty transcript" in message
    assert "row 3: empty target" in message
    assert "row 4: duplicate of row 1" in message
    assert "row 5: over the token budget" in message
    assert "row 6: empty transcript, empty target" in message
    assert SENTINEL not in message
    assert [p.row for p in err.value.problems] == [2, 3, 4, 5, 6, 6]


def test_rows_with_extra_fields(tmp_path):
    path = tmp_path / "extra.csv"
    path.write_text(f"transcript,note\na,b,{SENTINEL}\nc,d\n", encoding="utf-8")
    with pytest.raises(DatasetError) as err:
        load_pairs(path)
    assert str(err.value) == "1 bad row in extra.csv: row 1: more fields than the header"


def test_drop_returns_good_rows_and_a_report(tmp_path):
    path = write_csv(tmp_path / "train.csv", ["transcript", "note"], [["a", "b"], [SENTINEL, ""], ["a", "b"]])
    pairs = load_pairs(path, on_error="drop")
    assert [p.row for p in pairs] == [1]
    assert [(p.row, p.reason) for p in pairs.dropped] == [
        (2, "empty target"),
        (3, "duplicate of row 1"),
    ]
    assert "dropped 2: row 2: empty target; row 3: duplicate of row 1" in pairs.report
    assert SENTINEL not in pairs.report


def test_missing_column_does_not_echo_a_headerless_first_row(tmp_path):
    path = write_csv(tmp_path / "x.csv", [SENTINEL, "some note"], [["a", "b"]])
    with pytest.raises(DatasetError) as err:
        load_pairs(path)
    assert "missing columns transcript, note" in str(err.value)
    assert SENTINEL not in str(err.value)


@pytest.mark.parametrize(
    ("content", "expected"),
    [(b"transcript,note\n", "no data rows"), (b"transcript,note\n\xff\xfe,x\n", "not UTF-8")],
)
def test_unreadable_files(tmp_path, content, expected):
    path = tmp_path / "bad.csv"
    path.write_bytes(content)
    with pytest.raises(DatasetError, match=expected):
        load_pairs(path)


def test_token_budget_counts_the_whole_training_example(tmp_path):
    path = write_csv(tmp_path / "t.csv", ["transcript", "note", "section"], [["hello there", "hi", "plan"]])
    seen: list[str] = []
    load_pairs(path, max_tokens=10_000, count_tokens=lambda t: seen.append(t) or 1, profile="phi3")
    profile = PROFILES["phi3"]
    assert seen == [profile.render(section_instruction("hello there", "plan"), "hi")]


def test_bad_options(tmp_path):
    path = write_csv(tmp_path / "t.csv", ["transcript", "note"], [["a", "b"]])
    with pytest.raises(ValueError, match="count_tokens"):
        load_pairs(path, max_tokens=10)
    with pytest.raises(ValueError, match="on_error"):
        load_pairs(path, on_error="ignore")
    with pytest.raises(ValueError, match="preset"):
        load_pairs(path, "nope")


pair_lists = st.lists(
    st.tuples(st.sampled_from("abcdefghijklmnopqrstuvwxyz"), st.integers(0, 3)), max_size=60
).map(lambda items: [Pair(f"t{i}", f"n{i}", "note", g * (k + 1), i + 1) for i, (g, k) in enumerate(items)])


@settings(max_examples=150, deadline=None)
@given(pairs=pair_lists, seed=st.integers(0, 2**32), order_seed=st.integers(0, 100))
def test_split_properties(pairs, seed, order_seed):
    split = split_pairs(pairs, seed)
    assert split_pairs(pairs, seed) == split
    shuffled = list(pairs)
    random.Random(order_seed).shuffle(shuffled)
    assert [sorted(p.row for p in side) for side in split_pairs(shuffled, seed)] == [
        sorted(p.row for p in side) for side in split
    ]
    rows = [p.row for side in split for p in side]
    assert sorted(rows) == [p.row for p in pairs]
    group_sides = [{p.group for p in side} for side in split]
    assert not (
        group_sides[0] & group_sides[1] or group_sides[0] & group_sides[2] or group_sides[1] & group_sides[2]
    )
    n_groups = len({p.group for p in pairs})
    for side, fraction in zip(group_sides, (0.8, 0.1, 0.1), strict=True):
        assert abs(len(side) - fraction * n_groups) < 2
        if n_groups >= 3:
            assert side


def test_split_rejects_bad_fractions():
    with pytest.raises(ValueError, match="fractions"):
        split_pairs([], 0, (0.5, 0.5, 0.5))


@pytest.mark.parametrize("profile_name", sorted(PROFILES))
def test_examples_use_the_shared_prompt_builder(profile_name):
    profile = PROFILES[profile_name]
    pairs = [Pair("Client: I slept badly.", "Poor sleep.", "subjective", "g", 1)]
    (example,) = to_examples(pairs, profile_name)
    assert set(example) == {"prompt", "completion"}
    assert example["prompt"] == section_prompt(profile, pairs[0].transcript, "subjective")
    instruction = section_instruction(pairs[0].transcript, "subjective")
    assert example["prompt"] + example["completion"] == profile.render(instruction, "Poor sleep.")
    assert example["completion"].startswith("Poor sleep.")


def test_a_dataset_header_is_trained_and_evaluated_as_a_focused_part_of_a_therapy_section():
    """MTS-Dialog's one-topic sections are asked as that topic of the closest SOAP section, in
    training and in evaluation alike; therapy sections keep the whole-section prompt the service
    sends (the service never asks a focus)."""
    from training_jobs.data import prompt_section
    from training_jobs.therapy_data import FOCUS, CleanReport, as_pairs, map_dataset_pairs

    dialogue = "Doctor: Any allergies?\nPatient: I am allergic to penicillin, it gives me hives."
    raw = Pair(dialogue, "The patient is allergic to penicillin, which causes hives.", "ALLERGY", "g1", 1)
    report = CleanReport()
    (mapped,) = map_dataset_pairs([raw], report)
    assert (mapped.note_format, mapped.section) == (NoteFormat.SOAP, "subjective")
    assert mapped.focus == FOCUS["allergy"]
    assert mapped.target.startswith("The client is allergic to penicillin")
    (trained,) = as_pairs([mapped], Pair)
    (example,) = to_examples([trained], "gemma3")
    profile = PROFILES["gemma3"]
    # the evaluation prompts the raw dataset row exactly as the training example was prompted
    assert prompt_section(raw) == ("subjective", NoteFormat.SOAP, FOCUS["allergy"])
    assert example["prompt"] == section_prompt(profile, dialogue, *prompt_section(raw))
    assert "the client's allergies, only that" in example["prompt"]
    whole = section_prompt(profile, dialogue, "subjective")
    assert "only that" not in whole and example["prompt"] != whole
    # a therapy section is prompted whole
    therapy = Pair(dialogue, "Poor sleep.", "plan", "g2", 2, note_format="DAP")
    assert prompt_section(therapy)[2] == ""


def test_headers_without_a_focus_or_kind_are_skipped_and_unsupported_facts_cleaned():
    from training_jobs.therapy_data import CleanReport, map_dataset_pairs

    dialogue = "Doctor: How is the family?\nPatient: My mother lives with us and helps with the kids."
    pairs = [
        Pair(
            dialogue,
            "The patient is a 44-year-old male. His mother lives with the family and helps.",
            "FAM/SOCHX",
            "g",
            1,
        ),
        Pair(dialogue, "Some unknown header text with enough words.", "NOT_A_HEADER", "g", 2),
    ]
    report = CleanReport()
    (mapped,) = map_dataset_pairs(pairs, report)
    assert "44" not in mapped.target and "male" not in mapped.target
    assert "mother lives with the family" in mapped.target
    assert report.targets == 1 and report.sentences_dropped


def test_a_short_answer_kept_whole_is_trained_and_a_short_remnant_is_not():
    from training_jobs.therapy_data import CleanReport, clean_target

    dialogue = "Doctor: Any allergies to medicines?\nPatient: No, none that I know of."
    report = CleanReport()
    # short as written and supported: the section's answer ("None." is 1 word)
    assert clean_target("None.", dialogue, report) == "None."
    # what is left of a longer target once an unsupported sentence goes is dropped when short
    assert clean_target("The patient is a 52-year-old woman. None.", dialogue, report) == ""
    assert report.targets == 2 and report.targets_dropped == 1 and sum(report.sentences_dropped.values()) == 1


def test_a_target_keeps_what_a_demographic_opening_said_in_the_therapy_register():
    from training_jobs.therapy_data import CleanReport, clean_target

    dialogue = (
        "Doctor: What brings you in?\nPatient: My lower back has hurt since I fell at the store.\n"
        "Doctor: Have you had therapy for it?\nPatient: Yes, physical therapy, it helped a bit."
    )
    report = CleanReport()
    target = (
        "The patient is a 26-year-old female who presents with low back pain after a fall at the store. "
        "She had physical therapy, which helped a bit."
    )
    assert clean_target(target, dialogue, report) == (
        "The client presents with low back pain after a fall at the store. "
        "She had physical therapy, which helped a bit."
    )
    assert report.sentences_rewritten == 1 and not report.sentences_dropped and report.targets_changed == 1
