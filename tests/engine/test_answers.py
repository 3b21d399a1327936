"""Validation of whole answer sets and of single pages: what is accepted, what is refused, and
the message a patient reads."""

from __future__ import annotations

import sys
import unicodedata
from pathlib import Path
from typing import Any

import pytest
from jsonschema import Draft202012Validator
from support.answer_sets import ALL_RED_FLAGS, TYPICAL

from questionnaire.engine import AnswersError, FieldError, RuleSet, load_ruleset
from questionnaire.engine.answers import CONTRACT, CONTROL_CHARACTERS, required_message
from questionnaire.engine.definition import NONE_CHOICE, Question

# The choices of red_flags, in definition order: every red flag, then "none".
RED_FLAGS = [*ALL_RED_FLAGS, "none"]
YES_NO_NOT_SURE = ["yes", "no", "not_sure"]
MINIMAL = Path(__file__).parent / "broken" / "minimal"
SHIPPED = Path(__file__).resolve().parents[2] / "rules"
REQUIRED = "the question's message for a missing answer"
RED = "signs that need help right away"


def answers(**changes: Any) -> dict[str, Any]:
    return {**TYPICAL, **changes}


def errors_of(ruleset: RuleSet, raw: Any) -> list[FieldError]:
    with pytest.raises(AnswersError) as raised:
        ruleset.validate(raw)
    return raised.value.errors


def only_error(ruleset: RuleSet, raw: Any) -> FieldError:
    (error,) = errors_of(ruleset, raw)
    return error


# -- the contract ------------------------------------------------------------------------


def test_the_six_contract_fields_alone_are_a_complete_answer_set(ruleset: RuleSet) -> None:
    assert ruleset.validate(TYPICAL) == TYPICAL


def required(ruleset: RuleSet, field: str) -> str:
    """The message for a required question left unanswered."""
    return required_message(ruleset.question_by_id[field])


def test_every_contract_field_is_required_and_named_with_its_choices(ruleset: RuleSet) -> None:
    errors = errors_of(ruleset, {})
    assert errors == [
        FieldError(field, required(ruleset, field), list(CONTRACT[field][1]))
        for field in (q.id for q in ruleset.questions)
        if field in CONTRACT
    ]


def test_a_required_message_is_the_one_written_for_the_question(ruleset: RuleSet) -> None:
    for field in CONTRACT:
        question = ruleset.question_by_id[field]
        if question.error_required:
            assert required(ruleset, field) == question.error_required


def test_without_a_written_message_the_defaults_say_what_to_do() -> None:
    minimal = load_ruleset(MINIMAL)
    errors = {error.field: error.message for error in errors_of(minimal, {})}
    # The minimal rule set gives no short labels: the messages quote each question.
    assert errors == {
        "pain_duration": "Select an answer for 'How long have you had this pain?'",
        "conservative_care": (
            "Select at least one option for 'What have you tried so far?', "
            "or select 'None of these'"
        ),
        "blood_thinners": "Select an answer for 'Do you take a medicine that thins your blood?'",
        "diabetes": "Select an answer for 'Is diabetes one of your health conditions?'",
        "infection": "Select an answer for 'Are you ill with an infection right now?'",
        "red_flags": (
            "Select at least one option for 'Do any of these apply to you?', "
            "or select 'None of these'"
        ),
    }


@pytest.mark.parametrize("field", sorted(CONTRACT))
def test_each_contract_field_missing_alone_is_named(ruleset: RuleSet, field: str) -> None:
    raw = {key: value for key, value in TYPICAL.items() if key != field}
    assert only_error(ruleset, raw).field == field


def test_every_other_question_is_optional(ruleset: RuleSet) -> None:
    others = [q for q in ruleset.questions if q.id not in CONTRACT]
    assert others, "the form asks more than the contract"
    assert ruleset.validate(TYPICAL) == TYPICAL
    for question in others:
        if ruleset.is_visible(question, TYPICAL):
            assert ruleset.validate({**TYPICAL, question.id: None}) == TYPICAL, question.id


def test_the_answers_must_be_an_object(ruleset: RuleSet) -> None:
    for raw in (["pain_duration"], "pain_duration", None, 3):
        assert errors_of(ruleset, raw) == [
            FieldError("answers", "The answers must be an object of field ids")
        ]


# -- choices -----------------------------------------------------------------------------


def test_a_choice_outside_the_list_names_the_allowed_values(ruleset: RuleSet) -> None:
    assert only_error(ruleset, answers(pain_duration="forever")) == FieldError(
        "pain_duration",
        "Select one of the options shown for how long you have had this pain",
        ["under_6_weeks", "6_to_12_weeks", "3_to_6_months", "over_6_months"],
    )


@pytest.mark.parametrize("value", [True, False, None, 1, ["yes"], "Yes", " yes"])
def test_one_of_takes_only_a_choice_id(ruleset: RuleSet, value: Any) -> None:
    assert only_error(ruleset, answers(diabetes=value)) == FieldError(
        "diabetes", "Select one of the options shown for diabetes", YES_NO_NOT_SURE
    )


def test_none_must_be_chosen_alone(ruleset: RuleSet) -> None:
    assert only_error(ruleset, answers(red_flags=["none", "saddle_numbness"])) == FieldError(
        "red_flags",
        "Select 'None of these' on its own for signs that need help right away, "
        "or untick it and select the options that apply",
        RED_FLAGS,
    )
    error = only_error(ruleset, answers(conservative_care=["home_exercise", "none"]))
    assert error.field == "conservative_care"
    assert error.message.startswith("Select 'None of these yet' on its own")


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ([], REQUIRED),
        ("", REQUIRED),
        (["saddle_numbness", "saddle_numbness"], f"Select each option only once for {RED}"),
        (["saddle"], f"Select only the options listed for {RED}"),
        ([True], f"Select only the options listed for {RED}"),
        ({"saddle_numbness": True}, f"Give a list of the options that apply for {RED}"),
        (7, f"Give a list of the options that apply for {RED}"),
    ],
)
def test_any_of_errors(ruleset: RuleSet, value: Any, message: str) -> None:
    if message == REQUIRED:
        message = required(ruleset, "red_flags")
    assert only_error(ruleset, answers(red_flags=value)) == FieldError(
        "red_flags", message, RED_FLAGS
    )


def test_any_of_accepts_a_single_choice_and_keeps_definition_order(ruleset: RuleSet) -> None:
    cleaned = ruleset.validate(
        answers(conservative_care="home_exercise", red_flags=["cancer_history", "saddle_numbness"])
    )
    assert cleaned["conservative_care"] == ["home_exercise"]
    assert cleaned["red_flags"] == ["saddle_numbness", "cancer_history"]


# -- numbers (pain_score, 0 to 10) -------------------------------------------------------

WHOLE_NUMBER = "Your pain score must be a whole number from 0 to 10, like 5"
DIGITS_ONLY = (
    "Your pain score must be a whole number from 0 to 10 using only the digits 0 to 9, like 5"
)
IN_RANGE = "Your pain score must be a number from 0 to 10"


@pytest.mark.parametrize(
    ("value", "cleaned"),
    [(7, 7), ("7", 7), (" 7 ", 7), ("0", 0), (10, 10), (7.0, 7), ("+7", 7), ("-0", 0), ("07", 7)],
)
def test_numbers_from_forms_and_json_are_accepted(
    ruleset: RuleSet, value: Any, cleaned: int
) -> None:
    assert ruleset.validate(answers(pain_score=value))["pain_score"] == cleaned


@pytest.mark.parametrize(
    ("value", "message"),
    [
        ("7.5", DIGITS_ONLY),
        (7.5, WHOLE_NUMBER),
        ("abc", WHOLE_NUMBER),
        ("seven", WHOLE_NUMBER),
        (True, WHOLE_NUMBER),
        (False, WHOLE_NUMBER),
        ([7], WHOLE_NUMBER),
        (11, IN_RANGE),
        ("11", IN_RANGE),
        (-1, IN_RANGE),
        (10**30, IN_RANGE),
    ],
)
def test_bad_numbers_are_refused_with_the_range(ruleset: RuleSet, value: Any, message: str) -> None:
    assert only_error(ruleset, answers(pain_score=value)) == FieldError("pain_score", message)


@pytest.mark.parametrize(
    "value",
    [
        pytest.param("1_0", id="underscore-between-digits"),
        pytest.param("0_5", id="underscore-after-zero"),
        pytest.param("5.0", id="decimal-point"),
        pytest.param("5.", id="trailing-point"),
        pytest.param("1e1", id="exponent"),
        pytest.param("\u0665", id="arabic-indic-five"),
        pytest.param("\u06f5", id="extended-arabic-indic-five"),
        pytest.param("\u0967", id="devanagari-one"),
        pytest.param("\uff15", id="fullwidth-five"),
        pytest.param("- 5", id="space-after-sign"),
    ],
)
def test_a_typed_number_is_only_a_sign_and_the_digits_0_to_9(ruleset: RuleSet, value: str) -> None:
    # Python's int() reads all of these; a patient who typed one is told what is allowed.
    assert only_error(ruleset, answers(pain_score=value)) == FieldError("pain_score", DIGITS_ONLY)
    with pytest.raises(AnswersError) as raised:
        ruleset.validate_page(
            "your-pain", {"pain_duration": "under_6_weeks", "pain_score": value}, {}
        )
    assert raised.value.errors == [FieldError("pain_score", DIGITS_ONLY)]


@pytest.mark.parametrize("blank", ["", "   ", None])
def test_a_blank_optional_answer_is_not_answered(ruleset: RuleSet, blank: Any) -> None:
    assert ruleset.validate(answers(pain_score=blank, anything_else=blank)) == TYPICAL


# -- short text (anything_else, up to 500 characters) ---------------------------------------


def test_text_is_stripped(ruleset: RuleSet) -> None:
    cleaned = ruleset.validate(answers(anything_else="  I get dizzy with needles.\n"))
    assert cleaned["anything_else"] == "I get dizzy with needles."


def test_text_keeps_line_breaks_tabs_and_letters_of_any_language(ruleset: RuleSet) -> None:
    text = "Ligne un\n\tdeux: ça va, 痛い"
    assert ruleset.validate(answers(anything_else=text))["anything_else"] == text


def test_text_has_a_length_limit(ruleset: RuleSet) -> None:
    assert ruleset.validate(answers(anything_else="x" * 500))["anything_else"] == "x" * 500
    assert only_error(ruleset, answers(anything_else="x" * 501)) == FieldError(
        "anything_else", "Anything else for your doctor must be 500 characters or fewer"
    )
    # The limit counts what is kept, after stripping.
    assert (
        ruleset.validate(answers(anything_else=" " + "x" * 500 + " "))["anything_else"] == "x" * 500
    )


@pytest.mark.parametrize("text", ["a\x00b", "bell\x07", "esc\x1b[31m", "del\x7f", "in\x85side"])
def test_text_with_control_characters_is_refused(ruleset: RuleSet, text: str) -> None:
    assert only_error(ruleset, answers(anything_else=text)) == FieldError(
        "anything_else",
        "Remove the special characters from anything else for your doctor",
    )


def test_the_refused_characters_are_exactly_unicodes_controls_but_newline_and_tab() -> None:
    refused = {
        chr(point)
        for point in range(sys.maxunicode + 1)
        if CONTROL_CHARACTERS.search(chr(point)) is not None
    }
    controls = {
        chr(point)
        for point in range(sys.maxunicode + 1)
        if unicodedata.category(chr(point)) == "Cc"
    }
    assert refused == controls - {"\n", "\t"}


@pytest.mark.parametrize("value", [5, ["a"], {"a": 1}, True])
def test_text_must_be_text(ruleset: RuleSet, value: Any) -> None:
    assert only_error(ruleset, answers(anything_else=value)) == FieldError(
        "anything_else", "Anything else for your doctor must be text, 500 characters or fewer"
    )


def test_text_with_a_broken_character_says_so(ruleset: RuleSet) -> None:
    # JSON's "\\ud800" escape decodes to half of a character pair: not text a patient typed.
    assert only_error(ruleset, answers(anything_else="pain \ud800 here")) == FieldError(
        "anything_else",
        "Anything else for your doctor holds a broken character (half of a character pair); "
        "send the text as whole Unicode characters",
    )


# -- unknown and hidden answers ----------------------------------------------------------------


def test_unknown_fields_are_refused_with_the_known_ones(ruleset: RuleSet) -> None:
    error = only_error(ruleset, answers(mood="fine"))
    assert error.field == "mood"
    assert error.message == "This is not a question of this form"
    assert error.allowed == sorted(q.id for q in ruleset.questions)


@pytest.mark.parametrize(
    ("parent", "follow_up"),
    [
        ({"blood_thinners": "no"}, {"blood_thinner_name": "warfarin"}),
        ({"blood_thinners": "not_sure"}, {"blood_thinner_name": "warfarin"}),
        ({"diabetes": "no"}, {"diabetes_control": "no"}),
        ({"earlier_injections": "no"}, {"injection_relief": "did_not_help"}),
        ({}, {"injection_relief": "did_not_help"}),
        ({"diagnosis_given": "not_sure"}, {"diagnosis_details": "a slipped disc"}),
        ({"allergies": ["latex"]}, {"allergy_other": "penicillin"}),
    ],
)
def test_answers_to_hidden_follow_ups_are_dropped(
    ruleset: RuleSet, parent: dict[str, Any], follow_up: dict[str, Any]
) -> None:
    cleaned = ruleset.validate(answers(**parent, **follow_up))
    assert cleaned == answers(**parent)


@pytest.mark.parametrize(
    ("parent", "follow_up"),
    [
        ({"blood_thinners": "yes"}, {"blood_thinner_name": "warfarin"}),
        ({"diabetes": "yes"}, {"diabetes_control": "no"}),
        ({"earlier_injections": "yes"}, {"injection_relief": "did_not_help"}),
        ({"allergies": ["latex", "other"]}, {"allergy_other": "penicillin"}),
    ],
)
def test_answers_to_asked_follow_ups_are_kept(
    ruleset: RuleSet, parent: dict[str, Any], follow_up: dict[str, Any]
) -> None:
    assert ruleset.validate(answers(**parent, **follow_up)) == answers(**parent, **follow_up)


def test_a_hidden_follow_up_never_fires_a_rule(ruleset: RuleSet) -> None:
    fired_when_asked = ruleset.evaluate(
        ruleset.validate(answers(earlier_injections="yes", injection_relief="did_not_help"))
    )
    assert "earlier-injection-did-not-help" in {rule.id for rule in fired_when_asked.fired_rules}
    assert "ask-did-not-help" in {q.id for q in fired_when_asked.questions}

    hidden = ruleset.evaluate(
        ruleset.validate(answers(earlier_injections="no", injection_relief="did_not_help"))
    )
    assert "earlier-injection-did-not-help" not in {rule.id for rule in hidden.fired_rules}
    assert "ask-did-not-help" not in {q.id for q in hidden.questions}

    diabetes_no = ruleset.evaluate(ruleset.validate(answers(diabetes="no", diabetes_control="no")))
    assert "diabetes-not-well-controlled" not in {rule.id for rule in diabetes_no.fired_rules}
    assert "tell-diabetes-control" not in {n.id for n in diabetes_no.care_team_notes}


def test_a_bad_answer_to_a_hidden_question_is_still_refused(ruleset: RuleSet) -> None:
    # Nothing half-valid is accepted, even where it would be dropped.
    error = only_error(ruleset, answers(blood_thinners="no", blood_thinner_name="a\x00"))
    assert error.field == "blood_thinner_name"


def test_errors_come_in_the_order_of_the_form(ruleset: RuleSet) -> None:
    raw = {
        "infection": "maybe",
        "mood": "fine",
        "pain_score": "lots",
        "red_flags": ["none", "cancer_history"],
        "pain_duration": "forever",
        "anything_else": "\x00",
    }
    errors = errors_of(ruleset, raw)
    order = [q.id for q in ruleset.questions]
    fields = [error.field for error in errors]
    known = [field for field in fields if field in order]
    assert known == sorted(known, key=order.index)
    assert fields[-1] == "mood", "unknown fields come after the form's own"
    assert set(fields) == {*raw, "conservative_care", "blood_thinners", "diabetes"}


def test_the_error_text_joins_every_field(ruleset: RuleSet) -> None:
    with pytest.raises(AnswersError) as raised:
        ruleset.validate(answers(pain_duration="forever", pain_score=11))
    assert str(raised.value) == (
        "pain_duration: Select one of the options shown for how long you have had this pain "
        "(allowed: under_6_weeks, 6_to_12_weeks, 3_to_6_months, over_6_months); "
        "pain_score: Your pain score must be a number from 0 to 10"
    )


# -- every message names its question ---------------------------------------------------------
#
# The error summary at the top of a page lists the messages of all its questions, away from
# their fields, and the API returns them alone: each must say which question it is about.

# Answers that are wrong in each way the engine can tell apart, by kind of question.
BAD_ANSWERS: dict[str, list[Any]] = {
    "one_of": ["not-a-choice", 3, ["x"], None],
    "yes_no": ["not-a-choice", True],
    "any_of": [[], "", ["not-a-choice"], [True], 7, {"a": 1}, "duplicate", "none-and-other"],
    "number": ["", None, "lots", "7.5", "\u0665", 7.5, True, -1, 10**6],
    "short_text": ["x" * 2001, "a\x00b", 5, ["a"], "pain \ud800 here"],
}


def bad_values(question: Question) -> list[Any]:
    values = []
    for value in BAD_ANSWERS[question.kind]:
        if value == "duplicate":
            value = [question.choice_ids[0]] * 2
        elif value == "none-and-other":
            if NONE_CHOICE not in question.choice_ids:
                continue
            value = [question.choice_ids[0], NONE_CHOICE]
        values.append(value)
    return values


def names_its_question(message: str, question: Question) -> bool:
    if message == question.error_required:
        return True
    name = question.short_label or question.label
    return name in message or name[:1].upper() + name[1:] in message


def every_message(ruleset: RuleSet, question: Question) -> set[str]:
    """The messages for each bad answer, whole answer sets and single pages alike."""
    page = ruleset.page_of_question[question.id]
    messages = {required_message(question)}
    for value in bad_values(question):
        raw = {question.id: value}
        # A blank answer is refused only where the question is required.
        try:
            ruleset.validate({**TYPICAL, **raw})
        except AnswersError as error:
            messages |= {e.message for e in error.errors if e.field == question.id}
        try:
            ruleset.validate_page(page, raw, {})
        except AnswersError as error:
            messages |= {e.message for e in error.errors if e.field == question.id}
    return messages


def shipped_questions() -> list[Question]:
    return list(load_ruleset(SHIPPED).questions)


@pytest.mark.parametrize("question", shipped_questions(), ids=lambda q: q.id)
def test_every_message_names_its_question(ruleset: RuleSet, question: Question) -> None:
    messages = every_message(ruleset, question)
    assert len(messages) > 1
    unnamed = sorted(m for m in messages if not names_its_question(m, question))
    assert not unnamed, f"{question.id}: messages that do not name the question: {unnamed}"


def test_every_shipped_question_has_a_short_label() -> None:
    assert [q.id for q in shipped_questions() if not q.short_label] == []


def test_without_a_short_label_a_message_quotes_the_question() -> None:
    minimal = load_ruleset(MINIMAL)
    for question in minimal.questions:
        assert question.short_label is None
        messages = every_message(minimal, question)
        assert all(f"'{question.label}'" in message for message in messages), messages


def test_a_message_leads_with_the_short_label_as_a_sentence_does() -> None:
    minimal = load_ruleset(MINIMAL)
    with pytest.raises(AnswersError) as raised:
        minimal.validate({**TYPICAL, "blood_thinner_name": "x" * 201, "pain_score": 11})
    assert [(e.field, e.message) for e in raised.value.errors] == [
        (
            "pain_score",
            "Your answer to 'How bad is your pain from 0 to 10?' must be a number from 0 to 10",
        ),
        (
            "blood_thinner_name",
            "Your answer to 'Which blood thinner do you take?' must be 200 characters or fewer",
        ),
    ]


def test_the_other_allergies_box_names_itself_when_too_long(ruleset: RuleSet) -> None:
    with pytest.raises(AnswersError) as raised:
        ruleset.validate_page("allergies", {"allergies": ["other"], "allergy_other": "x" * 201}, {})
    assert raised.value.errors == [
        FieldError("allergy_other", "Other allergies must be 200 characters or fewer")
    ]


# -- one page of the web form ---------------------------------------------------------------


def test_a_page_returns_only_its_cleaned_answers(ruleset: RuleSet) -> None:
    cleaned = ruleset.validate_page(
        "your-pain", {"pain_duration": "under_6_weeks", "pain_score": "7"}, {}
    )
    assert cleaned == {"pain_duration": "under_6_weeks", "pain_score": 7}


def test_a_page_reports_every_field_in_form_order(ruleset: RuleSet) -> None:
    with pytest.raises(AnswersError) as raised:
        ruleset.validate_page("your-pain", {"pain_score": "abc", "limb_pain": "foot"}, {})
    assert [(e.field, e.message) for e in raised.value.errors] == [
        ("pain_duration", required(ruleset, "pain_duration")),
        ("limb_pain", "Select one of the options shown for pain spreading down a leg or an arm"),
        ("pain_score", WHOLE_NUMBER),
    ]


def test_a_page_drops_a_follow_up_hidden_by_an_answer_on_the_same_page(ruleset: RuleSet) -> None:
    cleaned = ruleset.validate_page(
        "blood-and-bleeding", {"blood_thinners": "no", "blood_thinner_name": "warfarin"}, {}
    )
    assert cleaned == {"blood_thinners": "no"}
    cleaned = ruleset.validate_page(
        "blood-and-bleeding", {"blood_thinners": "yes", "blood_thinner_name": " warfarin "}, {}
    )
    assert cleaned == {"blood_thinners": "yes", "blood_thinner_name": "warfarin"}


def test_a_page_uses_earlier_answers_for_branching(ruleset: RuleSet) -> None:
    page = {"conservative_care": ["none"], "injection_relief": "did_not_help"}
    assert ruleset.validate_page("care-so-far", page, {"earlier_injections": "yes"}) == {
        "conservative_care": ["none"]
    }, "earlier_injections is on this page: an old saved answer does not count"
    assert ruleset.validate_page("care-so-far", {**page, "earlier_injections": "yes"}, {}) == {
        **page,
        "earlier_injections": "yes",
    }
    assert ruleset.validate_page("diabetes", {"diabetes": "yes", "diabetes_control": "no"}, {}) == {
        "diabetes": "yes",
        "diabetes_control": "no",
    }


def test_a_page_ignores_fields_of_other_pages(ruleset: RuleSet) -> None:
    # The web form posts other keys (the CSRF token, buttons); they are not answers.
    assert ruleset.validate_page("infection", {"infection": "no", "csrf_token": "x"}, {}) == {
        "infection": "no"
    }


def test_a_bad_answer_on_a_page_does_not_hide_the_others(ruleset: RuleSet) -> None:
    with pytest.raises(AnswersError) as raised:
        ruleset.validate_page(
            "blood-and-bleeding",
            {"blood_thinners": "yes", "blood_thinner_name": "\x07", "bleeding_disorder": "maybe"},
            {},
        )
    assert [e.field for e in raised.value.errors] == ["blood_thinner_name", "bleeding_disorder"]


# -- the JSON schema of the answers ------------------------------------------------------------


def test_the_answers_json_schema(ruleset: RuleSet) -> None:
    schema = ruleset.answers_json_schema()
    Draft202012Validator.check_schema(schema)
    assert schema["type"] == "object"
    assert schema["additionalProperties"] is False
    assert sorted(schema["required"]) == sorted(CONTRACT)
    assert set(schema["properties"]) == {q.id for q in ruleset.questions}
    assert schema["properties"]["pain_duration"]["enum"] == [
        "under_6_weeks",
        "6_to_12_weeks",
        "3_to_6_months",
        "over_6_months",
    ]
    assert schema["properties"]["red_flags"]["items"]["enum"] == RED_FLAGS
    assert schema["properties"]["red_flags"]["minItems"] == 1

    validator = Draft202012Validator(schema)
    assert validator.is_valid(TYPICAL)
    assert validator.is_valid(answers(pain_score=10, anything_else="x" * 500))
    for bad in (
        {key: value for key, value in TYPICAL.items() if key != "diabetes"},
        answers(pain_duration="forever"),
        answers(red_flags=[]),
        answers(pain_score=11),
        answers(pain_score=-1),
        answers(anything_else="x" * 501),
        answers(mood="fine"),
    ):
        assert not validator.is_valid(bad), bad
