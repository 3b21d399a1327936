"""The rule engine: pure Python, no Flask. See docs/architecture.md for the interface."""

from questionnaire.engine.answers import AnswersError, FieldError
from questionnaire.engine.loader import RulesetError, check_ruleset, load_ruleset
from questionnaire.engine.result import Result
from questionnaire.engine.ruleset import RuleSet
from questionnaire.engine.yamlsource import Problem

__all__ = [
    "AnswersError",
    "FieldError",
    "Problem",
    "Result",
    "RuleSet",
    "RulesetError",
    "check_ruleset",
    "load_ruleset",
]
