"""Answer sets the tests share: a typical patient's, and the dense ones whose sheets are the
hardest to print on two pages. Flat, as the API and the engine take them; the browser tests
group them by page (``tests/browser/conftest.by_page``)."""

from __future__ import annotations

from typing import Any

# The rule set's own example base: a patient with no risk factor, and the fewest answers a
# sheet needs. Tests copy it before changing it.
TYPICAL: dict[str, Any] = {
    "pain_duration": "6_to_12_weeks",
    "conservative_care": ["physical_therapy"],
    "blood_thinners": "no",
    "diabetes": "no",
    "infection": "no",
    "red_flags": ["none"],
}

# A patient with nearly every risk factor and no red flag: the longest sheet without the urgent
# box (14 guide sections, 28 questions, 12 notes for the care team).
MANY_RISKS: dict[str, Any] = {
    "pain_duration": "under_6_weeks",
    "conservative_care": ["none"],
    "blood_thinners": "yes",
    "bleeding_disorder": "yes",
    "diabetes": "yes",
    "diabetes_control": "not_sure",
    "infection": "yes",
    "red_flags": ["none"],
    "allergies": ["contrast_dye", "local_anaesthetic", "steroid", "latex", "other"],
    "allergy_other": "penicillin",
    "pregnancy": "yes",
    "earlier_injections": "yes",
    "injection_relief": "did_not_help",
    "driver": "yes",
    "imaging_done": "not_sure",
    "diagnosis_given": "not_sure",
    "limb_pain": "leg",
    "pain_score": 9,
}

# Every red flag (every choice of red_flags but "none"), in the order the question lists them.
ALL_RED_FLAGS = [
    "bladder_or_bowel_change",
    "saddle_numbness",
    "worsening_leg_weakness",
    "fever_or_chills",
    "recent_major_injury",
    "cancer_history",
    "unexplained_weight_loss",
]

# "Not sure" to most questions, with most risk factors and no red flag: 32 questions and 15
# notes, more than two pages hold even with every guide section by title, until the compact
# print layout takes its first step (questionnaire/web/printlength.py).
NOT_SURE: dict[str, Any] = {
    "pain_duration": "6_to_12_weeks",
    "pain_location": ["lower_back", "mid_or_upper_back"],
    "limb_pain": "leg",
    "pain_score": 7,
    "red_flags": ["none"],
    "conservative_care": ["none"],
    "earlier_injections": "yes",
    "injection_relief": "under_1_week",
    "diagnosis_given": "yes",
    "imaging_done": "no",
    "blood_thinners": "not_sure",
    "bleeding_disorder": "yes",
    "diabetes": "yes",
    "diabetes_control": "not_sure",
    "infection": "not_sure",
    "allergies": ["contrast_dye", "local_anaesthetic", "steroid", "latex", "other", "not_sure"],
    "pregnancy": "not_sure",
    "driver": "no",
}

# The longest sheet a search of the answers found: NOT_SURE with new pain and every red flag
# (the urgent box with seven reasons, and one more note). It takes three steps of the compact
# print layout.
LONGEST: dict[str, Any] = {
    **NOT_SURE,
    "pain_duration": "under_6_weeks",
    "red_flags": ALL_RED_FLAGS,
}
