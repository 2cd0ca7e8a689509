"""Whole-note evaluation on therapy sessions: loader, per-section scores, side-by-side reports."""

from __future__ import annotations

import json

import pytest

from models.notes import build_note, fallback_note
from schemas.notes import SECTIONS, NoteFormat
from training_jobs import evaluate
from training_jobs.data import DatasetError
from training_jobs.note_eval import load_sessions, score_note, session_pairs, whole

SENTINEL = "ZQX-SENTINEL-5512"
TRANSCRIPT = (
    f"Therapist: What brings you in? {SENTINEL}\n"
    "Client: I have been drinking most nights since my divorce and I feel low.\n"
    "Therapist: It sounds like drinking helps you cope with the loneliness.\n"
    "Client: Yes. I want to cut back before it gets worse.\n"
    "Therapist: How important is cutting back, on a scale of zero to ten?\n"
    "Client: An eight.\n"
    "Therapist: Between now and next week, could you write down each drink?"
)
REFERENCE = {
    "SOAP": {
        "subjective": "Client reported drinking most nights since his divorce and feeling low.",
        "objective": "Client was engaged. Therapist used open questions, reflections and a ruler.",
        "assessment": "Client is in contemplation, with importance rated eight.",
        "plan": "Client will record each drink before next week's session.",
        "summary": "x",
    },
    "DAP": {"data": "d", "assessment": "a", "plan": "p", "summary": "s"},
    "BIRP": {"behavior": "b", "intervention": "i", "response": "r", "plan": "p", "summary": "s"},
}


def write_session(folder, name, **overrides):
    data = {
        "id": name,
        "modality": "MI",
        "risk": [],
        "transcript": TRANSCRIPT,
        "notes": REFERENCE,
    } | overrides
    (folder / f"{name}.json").write_text(json.dumps(data), encoding="utf-8")


@pytest.fixture
def dev(tmp_path):
    folder = tmp_path / "dev"
    folder.mkdir()
    write_session(folder, "dev-01")
    write_session(folder, "dev-02")
    return folder


def test_load_sessions_and_pairs(dev):
    sessions = load_sessions(dev)
    assert [s.id for s in sessions] == ["dev-01", "dev-02"]
    pairs = session_pairs(sessions, NoteFormat.SOAP)
    assert [(p.row, p.id, p.section) for p in pairs] == [(1, "dev-01", "note"), (2, "dev-02", "note")]
    assert pairs[0].target == whole(REFERENCE["SOAP"], NoteFormat.SOAP)
    assert "summary" not in pairs[0].target and pairs[0].target.count("\n") == 3


def test_load_sessions_reports_every_bad_file(tmp_path):
    write_session(tmp_path, "a", notes={"SOAP": REFERENCE["SOAP"]})
    (tmp_path / "b.json").write_text("[1, 2]", encoding="utf-8")
    with pytest.raises(DatasetError) as e:
        load_sessions(tmp_path)
    assert "a.json row 1: missing DAP.data" in str(e.value) and "b.json row 2" in str(e.value)
    with pytest.raises(DatasetError):
        load_sessions(tmp_path / "nothing")


def test_score_note_per_section_and_whole():
    note = build_note(NoteFormat.SOAP, dict(list(REFERENCE["SOAP"].items())[:4]), " ".join(["w"] * 40), [])
    target = whole(REFERENCE["SOAP"], NoteFormat.SOAP)
    scores, pred = score_note(note, {"source": "model"}, TRANSCRIPT, target, REFERENCE["SOAP"])
    assert pred == target
    for key in SECTIONS[NoteFormat.SOAP]:
        assert scores[f"rouge1/{key}"] == pytest.approx(1.0)
    assert scores["rouge1"] == pytest.approx(1.0)
    assert 0 < scores["rouge1/interventions_sentence"] < 1
    assert scores["rouge1/objective+interventions"] < scores["rouge1/objective"]
    assert scores["duplication_max"] < 0.3 and scores["medical_register_note"] == 0.0
    assert scores["unsupported_fact_note"] == 0.0 and scores["fallback"] == 0.0


def test_score_note_mts_row_scores_the_closest_section():
    sections = {
        "subjective": "Headache for days.",
        "objective": "Exam normal.",
        "assessment": "a",
        "plan": "p",
    }
    note = build_note(NoteFormat.SOAP, sections, " ".join(["w"] * 40), [])
    scores, _ = score_note(note, {}, "Doctor: hi", "Exam normal.", None, "EXAM")
    assert scores["section_rouge1"] == pytest.approx(1.0)
    assert scores["rouge1"] < 1.0


def test_evaluate_therapy_side_by_side(tmp_path, dev):
    def medical(engine, transcript, note_format):
        sections = {k: f"The patient is a 40-year-old male seen for {k}." for k in SECTIONS[note_format]}
        return build_note(note_format, sections, " ".join(["w"] * 40), []), {"source": "model"}

    def extractive(engine, transcript, note_format):
        return fallback_note(transcript, note_format, []), {"source": "fallback"}

    drafts = iter([medical, medical, extractive, extractive])

    def draft(engine, transcript, note_format):
        return next(drafts)(engine, transcript, note_format)

    out = tmp_path / "eval" / "notes.json"
    argv = ["--task", "note", "--data", str(dev), "--model", "base", "--model", "v2", "--out", str(out)]
    assert evaluate.main(argv, engine=object(), draft=draft) == 0
    first, second = (json.loads(out.with_suffix(f".{n}.json").read_text()) for n in (1, 2))
    assert (first["model"], second["model"], first["preset"], first["n"]) == ("base", "v2", "therapy", 2)
    assert (
        first["metrics"]["medical_register_note"] == 1.0 and first["metrics"]["unsupported_fact_note"] == 1.0
    )
    assert first["metrics"]["duplication_max"] > 0.5
    assert second["metrics"]["medical_register_note"] == 0.0 and second["metrics"]["fallback"] == 1.0
    assert second["metrics"]["rouge1/subjective"] > 0
    assert [r["id"] for r in second["rows"]] == ["dev-01", "dev-02"]
    markdown = out.with_suffix(".md").read_text()
    assert "| metric | base | v2 |" in markdown and "| rouge1/plan |" in markdown
    assert "| medical_register_note ↓ | 1.0000 | 0.0000 |" in markdown
    assert out.with_suffix(".png").read_bytes().startswith(b"\x89PNG")
    combined = json.loads(out.read_text())
    assert [r["model"] for r in combined["runs"]] == ["base", "v2"]
    for path in out.parent.iterdir():
        assert SENTINEL.encode() not in path.read_bytes()


def test_evaluate_rejects_therapy_sections_and_mismatched_adapters(dev, tmp_path):
    with pytest.raises(SystemExit):
        evaluate.parse_args(["--data", str(dev), "--model", "m", "--out", str(tmp_path / "o.json")])
    base = ["--task", "note", "--data", str(dev), "--out", str(tmp_path / "o.json")]
    with pytest.raises(SystemExit):
        evaluate.parse_args(
            [*base, "--model", "a", "--model", "b", "--model", "c", "--lora", "x", "--lora", "y"]
        )
    args = evaluate.parse_args([*base, "--model", "m", "--lora", "none", "--lora", "v1.gguf"])
    assert args.runs == [("m", None), ("m", "v1.gguf")]
    args = evaluate.parse_args([*base, "--model", "a", "--model", "b", "--lora", "l.gguf"])
    assert args.runs == [("a", "l.gguf"), ("b", "l.gguf")]
