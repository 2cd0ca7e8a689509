"""Metrics on known pairs, clinical checks on notes, and evaluation reports with a fake engine."""

from __future__ import annotations

import csv
import json
import re

import pytest

from models.engine import Generation
from models.profiles import GEMMA3
from schemas.notes import Note, NoteFormat, RiskCategory, RiskFlag
from training_jobs import evaluate
from training_jobs.metrics import (
    bleu,
    drug_names,
    mean_scores,
    medical_register,
    risk_scores,
    rouge,
    section_duplication,
    section_sources,
    sections_present,
    summary_in_range,
    unsupported_facts,
    unsupported_share,
)
from training_jobs.therapy_data import FOCUS

SENTINEL = "ZQX-SENTINEL-4471"
SI, SH, HO = RiskCategory.SUICIDAL_IDEATION, RiskCategory.SELF_HARM, RiskCategory.HARM_TO_OTHERS


def test_rouge_identical_and_disjoint():
    text = "The patient reports poor sleep.\nShe walks daily. Mood is better."
    assert rouge([text], [text]) == pytest.approx(
        dict.fromkeys(("rouge1", "rouge2", "rougeL", "rougeLsum"), 1.0)
    )
    assert set(rouge(["alpha beta gamma"], ["delta epsilon zeta"]).values()) == {0.0}


def test_rouge_averages_pairs_and_checks_lengths():
    scores = rouge(["same words here", "x y z"], ["same words here", "a b c"])
    assert scores["rouge1"] == pytest.approx(0.5)
    with pytest.raises(ValueError):
        rouge(["a"], [])


def test_bleu():
    text = "the patient reports poor sleep for two weeks"
    assert bleu([text], [text]) == pytest.approx(1.0)
    assert bleu(["alpha beta gamma delta"], ["one two three four"]) == pytest.approx(0.0)


@pytest.mark.parametrize(
    ("text", "transcript", "share"),
    [
        ("No numbers or medicines here.", "Anything at all.", 0.0),
        (
            "A 76-year-old on 5 mg of sertraline.",
            "I'm seventy six. I take five milligrams of sertraline.",
            0.0,
        ),
        ("Takes 0.5 mg, not 2.5 mg.", "Half a pill, 0.5 each.", 0.5),
        ("Blood pressure 120/80.", "It was one twenty over eighty.", 0.0),
        ("Born in 1998.", "Nineteen ninety eight.", 0.0),
        ("Costs 1,000 dollars.", "It cost 1000.", 0.0),
        ("Started lisinopril and metoprolol.", "I take metoprolol.", 0.5),
        ("1. Atorvastatin 40 mg.\n2. Walk.", "No medicines.", 1.0),
        ("Seen on 3 occasions.", "We met twice.", 1.0),
        ("Problems: 1. Asthma. 2. Eczema.", "Asthma and eczema.", 0.0),
        (
            "Pulse: 72. Temp 98.6, 2.5 kg lost.",
            "seventy two; ninety eight point six; two and a half",
            0.0,
        ),
        ("Pulse: 72. Temp 98.6.", "Pulse was fine.", 1.0),
    ],
)
def test_unsupported_share(text, transcript, share):
    assert unsupported_share(text, transcript) == pytest.approx(share)


def test_drug_names():
    assert drug_names("Lisinopril, Zoloft, amlodipine and a statin.") == {
        "lisinopril",
        "zoloft",
        "amlodipine",
    }
    assert drug_names("In April her spine was supine; routine walks.") == set()


def note(**overrides) -> Note:
    fields = {
        "format": NoteFormat.SOAP,
        "sections": {"subjective": "s", "objective": "o", "assessment": "a", "plan": ""},
        "summary": " ".join(["word"] * 40),
    }
    return Note(**(fields | overrides))


def test_sections_and_summary_checks():
    assert sections_present(note()) == pytest.approx(0.75)
    assert summary_in_range(note()) == 1.0
    assert summary_in_range(note(summary="too short")) == 0.0


@pytest.mark.parametrize(
    ("expected", "flagged", "recall", "precision"),
    [
        ([], [], 1.0, 1.0),
        ([SI], [], 0.0, 1.0),
        ([], [SI], 1.0, 0.0),
        ([SI, SH], [SI, HO], 0.5, 0.5),
    ],
)
def test_risk_scores(monkeypatch, expected, flagged, recall, precision):
    monkeypatch.setattr("models.risk.scan", lambda _: [RiskFlag(category=c, evidence="e") for c in expected])
    scores = risk_scores(note(risk_flags=[RiskFlag(category=c, evidence="e") for c in flagged]), "t")
    assert (scores["risk_recall"], scores["risk_precision"]) == (recall, precision)
    assert {k for k in scores if k.startswith("risk_recall/")} == {f"risk_recall/{c}" for c in expected}
    if SI in expected:
        assert scores[f"risk_recall/{SI}"] == float(SI in flagged)


TRANSCRIPT = """Therapist: How has the drinking been this week?
Client: I had six beers on Friday. My doctor put me on sertraline last month.
Therapist: Any thoughts of hurting yourself?
Client: No, none at all."""


def soap(subjective="", objective="", assessment="", plan="") -> Note:
    sections = {"subjective": subjective, "objective": objective, "assessment": assessment, "plan": plan}
    return note(sections=sections)


def test_unsupported_facts_count_sentences_and_notes():
    grounded = soap(
        "The client reported six beers on Friday.",
        "The client takes sertraline.",
        "The client denied thoughts of self-harm.",
        "Review drinking next session.",
    )
    assert unsupported_facts(grounded, TRANSCRIPT) == {
        "unsupported_sentence_rate": 0.0,
        "unsupported_number_note": 0.0,
        "unsupported_medication_note": 0.0,
        "unsupported_fact_note": 0.0,
    }
    invented = soap(
        "The client is a 45-year-old man who drank 12 beers.",
        "The client takes lorazepam.",
        "The client was engaged.",
        "Review drinking next session.",
    )
    scores = unsupported_facts(invented, TRANSCRIPT)
    assert scores["unsupported_sentence_rate"] == pytest.approx(0.5)
    assert scores["unsupported_number_note"] == scores["unsupported_medication_note"] == 1.0
    assert scores["unsupported_fact_note"] == 1.0
    assert unsupported_facts(soap(), TRANSCRIPT)["unsupported_sentence_rate"] == 0.0
    quoted = soap(
        "In the client's words: “The patient in the next bed was a lady.”", "The client was engaged."
    )
    assert (
        unsupported_facts(quoted, "Client: The patient in the next bed was a lady.")[
            "unsupported_sentence_rate"
        ]
        == 0
    )


@pytest.mark.parametrize(
    ("sentence", "medical"),
    [
        ("The patient is a 40-year-old male.", True),
        ("Physical exam was unremarkable.", True),
        ("Vital signs stable; lungs clear to auscultation.", True),
        ("HEENT: normocephalic.", True),
        ("The client denies chest pain.", True),
        ("History of present illness: drinking.", True),
        ("The abdomen is soft.", True),
        ("Lungs clear bilaterally.", True),
        ("Her mother died of lung cancer.", False),
        ("The client's eleven-year-old daughter worries about her.", False),
        ("The client linked fainting to a drop in blood pressure.", False),
        ("The client reported low mood and drank to cope.", False),
        ("The client said “my lungs are shot” and wants to quit smoking.", False),
        ("The client described a male friend who drinks with him.", False),
        ("The therapist used open questions and reflective listening.", False),
    ],
)
def test_medical_register(sentence, medical):
    scores = medical_register(soap(sentence, "The client was engaged."))
    assert scores["medical_register_note"] == float(medical)
    assert scores["medical_register_rate"] == (0.5 if medical else 0.0)


def test_section_duplication():
    same = "The client reported drinking more since losing his job and feeling low."
    assert section_duplication(soap(same, same, "", ""))["duplication_max"] == pytest.approx(1.0)
    distinct = soap(same, "The therapist used open questions.", "Contemplation stage.", "Meet next week.")
    scores = section_duplication(distinct)
    assert scores["duplication_max"] < 0.3 and scores["duplication_mean"] <= scores["duplication_max"]
    assert section_duplication(soap(same))["duplication_max"] == 0.0


def test_section_sources():
    assert section_sources(note(), {"source": "model"}) == {
        "empty_sections": 0.25,
        "extracted_sections": 0.0,
        "fallback": 0.0,
    }
    grounded = {"source": "model", "grounding": {"extracted_sections": ["plan", "objective"]}}
    assert section_sources(note(), grounded)["extracted_sections"] == 0.5
    assert section_sources(note(), {"source": "fallback"})["extracted_sections"] == 1.0
    assert section_sources(note())["fallback"] == 0.0


def test_mean_scores_over_rows_that_have_each_key():
    assert mean_scores([{"a": 1.0, "b": True}, {"a": 0.0}]) == {"a": 0.5, "b": 1.0}


class FakeEngine:
    """Answers every section prompt with the same text: a number the transcript lacks. `calls`
    holds the section title each prompt asked for, `focuses` the topic it was narrowed to."""

    profile = GEMMA3

    def __init__(self):
        self.calls = []
        self.focuses = []

    def generate(self, prompt: str, **_kw) -> Generation:
        asked = re.search(
            r"Write the (?:part of the )?(\w+) section.*?(?:session about (.+?), only that)?\.", prompt
        )
        self.calls.append(asked[1])
        self.focuses.append(asked[2] or "")
        return Generation("Patient reports a headache for 3 days.", 8, 20, 1)


def write_mts(path, rows):
    with path.open("w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["ID", "section_header", "section_text", "dialogue"])
        writer.writerows(rows)
    return path


@pytest.fixture
def mts_csv(tmp_path):
    return write_mts(
        tmp_path / "mts.csv",
        [
            [
                str(i),
                section,
                f"Patient reports a headache {SENTINEL}.",
                f"Doctor: Hi {SENTINEL} {i}.\nPatient: Headache.",
            ]
            for i, section in enumerate(["GENHX", "CC", "ROS"])
        ],
    )


def cli(data, out, *extra: str) -> list[str]:
    """Command line of an MTS-Dialog evaluation of `data` into `out`."""
    return ["--model", "fake:1", "--data", str(data), "--preset", "mts", "--out", str(out), *extra]


def test_evaluate_writes_reports(tmp_path, mts_csv, capsys):
    out = tmp_path / "eval" / "base.json"
    engine = FakeEngine()
    assert evaluate.main(cli(mts_csv, out, "--limit", "2"), engine=engine) == 0
    assert engine.calls == ["Subjective", "Subjective"]  # GENHX and CC: the client's report
    assert engine.focuses == [FOCUS["genhx"], FOCUS["cc"]]  # as trained (therapy_data.FOCUS)
    report = json.loads(out.read_text())
    assert {"model", "data_sha256", "n", "metrics", "rows", "elapsed_s"} <= set(report)
    assert report["n"] == 2 and len(report["data_sha256"]) == 64
    metrics = {
        "rouge1",
        "rouge2",
        "rougeL",
        "rougeLsum",
        "bleu",
        "unsupported_share",
        "rouge1_client_register",
    }
    assert metrics == set(report["metrics"])
    assert report["metrics"]["unsupported_share"] == 1.0
    assert [(r["row"], r["id"]) for r in report["rows"]] == [(1, "0"), (2, "1")]
    assert SENTINEL not in out.read_text()
    assert (tmp_path / "eval" / "base.png").read_bytes().startswith(b"\x89PNG")
    assert "| rouge1 |" in (tmp_path / "eval" / "base.md").read_text()
    err = capsys.readouterr().err
    assert "2/2 rows" in err and SENTINEL not in err

    other = tmp_path / "eval" / "tuned.json"
    argv = cli(mts_csv, other, "--limit", "2", "--compare", str(out))
    assert evaluate.main(argv, engine=FakeEngine()) == 0
    markdown = (tmp_path / "eval" / "tuned.md").read_text()
    assert "| metric | tuned: fake:1 | base: fake:1 | change |" in markdown
    assert "+0.0000" in markdown


def test_evaluate_note_task(tmp_path, mts_csv, monkeypatch):
    monkeypatch.setattr("models.risk.scan", lambda _: [])
    sources = iter(["model", "model", "fallback"])

    def draft(engine, transcript, note_format):
        return note(format=note_format, text="Seen for 9 weeks."), {"source": next(sources)}

    out = tmp_path / "note.json"
    assert evaluate.main(cli(mts_csv, out, "--task", "note"), engine=object(), draft=draft) == 0
    report = json.loads(out.read_text())
    metrics = report["metrics"]
    assert metrics["sections_present"] == pytest.approx(0.75)
    assert metrics["fallback"] == pytest.approx(1 / 3) and metrics["risk_recall"] == 1.0
    assert metrics["unsupported_share"] == 1.0
    assert "unsupported_share" not in report["rows"][2]["scores"]


def test_evaluate_reports_bad_data_without_text(tmp_path, capsys):
    rows = [["0", "GENHX", SENTINEL, ""], ["1", "CC", "", SENTINEL]]
    path = write_mts(tmp_path / "bad.csv", rows)
    assert evaluate.main(cli(path, tmp_path / "r.json"), engine=FakeEngine()) == 2
    err = capsys.readouterr().err
    assert "row 1: empty transcript" in err and "row 2: empty target" in err
    assert SENTINEL not in err


def test_evaluate_writes_predictions_only_when_asked(tmp_path, mts_csv):
    out, preds = tmp_path / "r.json", tmp_path / "preds.jsonl"
    assert evaluate.main(cli(mts_csv, out, "--limit", "2"), engine=FakeEngine()) == 0
    assert not preds.exists()
    assert (
        evaluate.main(cli(mts_csv, out, "--limit", "2", "--predictions", str(preds)), engine=FakeEngine())
        == 0
    )
    lines = [json.loads(line) for line in preds.read_text().splitlines()]
    assert [(x["id"], x["section"]) for x in lines] == [("0", "GENHX"), ("1", "CC")]
    assert lines[0]["prediction"] == "Patient reports a headache for 3 days."
    assert lines[0]["reference"] == f"Patient reports a headache {SENTINEL}."
    assert SENTINEL not in out.read_text()  # the report itself still carries no text
