"""The model's second opinion on risk: requests (prompts sharing the transcript's tokens, the
grammar) and turning answers into flags (verbatim client quotes only, the candidate gate)."""

from __future__ import annotations

import pytest

from models.profiles import get_profile
from models.prompts import section_prompt, transcript_block
from models.risk import scan
from models.risk_model import (
    GRAMMAR,
    QUESTIONS,
    OpinionRequest,
    detect_with_opinion,
    opinion_flags,
    opinion_requests,
)
from schemas.notes import RiskCategory, RiskSource

SI, SH, SR = RiskCategory.SUICIDAL_IDEATION, RiskCategory.SELF_HARM, RiskCategory.SUBSTANCE_RELAPSE
TRANSCRIPT = (
    "Therapist: Have you been drinking?\n"
    "Client: A bit. Honestly I keep thinking everyone would be happier without me in the picture.\n"
    "Therapist: That sounds heavy.\n"
    "Client: I went out again on Friday and I can't stand myself."
)
GEMMA = get_profile("gemma3")


def test_one_request_per_category_sharing_the_transcript_prefix() -> None:
    requests = opinion_requests(GEMMA, TRANSCRIPT)
    assert [r.category for r in requests] == list(QUESTIONS) == list(RiskCategory)
    shared = GEMMA.user_prefix + transcript_block(TRANSCRIPT)
    section = section_prompt(GEMMA, TRANSCRIPT, "subjective")
    for r in requests:
        assert r.prompt.startswith(shared) and section.startswith(shared)
        assert QUESTIONS[r.category] in r.prompt and r.grammar == GRAMMAR and r.max_tokens > 0


def test_grammar_is_valid_gbnf() -> None:
    llama_cpp = pytest.importorskip("llama_cpp")
    assert llama_cpp.LlamaGrammar.from_string(GRAMMAR, verbose=False) is not None


def _answers(**by_category: str) -> dict[RiskCategory, str]:
    return {RiskCategory(k): v for k, v in by_category.items()}


def test_a_verbatim_client_quote_becomes_a_model_flag() -> None:
    quote = 'yes: "everyone would be happier without me"'
    [flag] = opinion_flags(TRANSCRIPT, _answers(suicidal_ideation=quote), [], gate="none")
    assert flag.category is SI and flag.source is RiskSource.MODEL and flag.severity == "unknown"
    assert flag.turn == 1
    assert flag.evidence == "Honestly I keep thinking everyone would be happier without me in the picture."


@pytest.mark.parametrize(
    "answer",
    [
        "no",
        'yes: "everyone would be better off dead"',  # not in the transcript
        'yes: "Have you been drinking"',  # the therapist's words
        'yes: "me"',  # too short to be evidence
        "maybe",
    ],
)
def test_other_answers_give_no_flag(answer: str) -> None:
    assert opinion_flags(TRANSCRIPT, _answers(suicidal_ideation=answer), [], gate="none") == []


def test_case_and_spacing_of_the_quote_do_not_matter() -> None:
    answer = 'yes: "I WENT OUT again   on friday"'
    [flag] = opinion_flags(TRANSCRIPT, _answers(substance_relapse=answer), [], gate="none")
    assert flag.turn == 3 and flag.evidence == "I went out again on Friday and I can't stand myself."


def test_the_candidate_gate_needs_a_risk_word_of_the_category() -> None:
    no_word = _answers(self_harm='yes: "Honestly I keep thinking everyone"')
    assert opinion_flags(TRANSCRIPT, no_word, [], gate="none") != []
    assert opinion_flags(TRANSCRIPT, no_word, [], gate="candidate") == []
    with_word = _answers(substance_relapse='yes: "I went out again on Friday"')
    assert len(opinion_flags(TRANSCRIPT, with_word, [], gate="candidate")) == 1


def test_a_category_the_scan_flagged_in_that_turn_is_not_repeated() -> None:
    text = "Client: I relapsed on Friday."
    answers = _answers(substance_relapse='yes: "I relapsed on Friday"')
    assert opinion_flags(text, answers, scan(text)) == []
    assert len(opinion_flags(text, answers, [])) == 1


def test_detect_with_opinion_adds_model_flags_after_the_scan() -> None:
    asked: list[OpinionRequest] = []

    def ask(requests):
        asked.extend(requests)
        return ['yes: "I went out again on Friday"' if r.category is SR else "no" for r in requests]

    flags = detect_with_opinion(ask, GEMMA, TRANSCRIPT)
    assert len(asked) == len(RiskCategory)
    assert [f.source for f in flags][-1] is RiskSource.MODEL and flags[-1].category is SR
    assert flags[:-1] == scan(TRANSCRIPT)
