"""The ``questionnaire`` command: rule checks and evaluation here, operator commands added by
the clinic package (``register``)."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any, NoReturn

import click
from werkzeug.exceptions import BadRequest

from questionnaire.clinic.commands import register as register_clinic_commands
from questionnaire.engine import AnswersError, check_ruleset, load_ruleset
from questionnaire.engine.textsheet import render_text
from questionnaire.web import json_body
from questionnaire.web.config import DEFAULTS, PROJECT_ROOT

DEFAULT_RULES = PROJECT_ROOT / "rules"
# An answers file is held to the web API's limit on a request body.
MAX_ANSWERS_BYTES: int = DEFAULTS["MAX_CONTENT_LENGTH"]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
def cli() -> None:
    """Pre-consultation questionnaire for back-pain injections."""


@cli.command("check-rules")
@click.argument("rules_dir", required=False, type=click.Path(path_type=Path), default=DEFAULT_RULES)
def check_rules(rules_dir: Path) -> None:
    """Check every file in RULES_DIR (default: the shipped rules/) and report every mistake."""
    ruleset, problems = check_ruleset(rules_dir)
    if problems or ruleset is None:
        for problem in problems:
            click.echo(str(problem), err=True)
        click.echo(f"{len(problems)} problem(s) found in {rules_dir}", err=True)
        sys.exit(1)
    click.echo(
        f"ok: {len(ruleset.pages)} pages, {len(ruleset.questions)} questions, "
        f"{len(ruleset.guide)} guide sections, {len(ruleset.bank)} questions to ask, "
        f"{len(ruleset.notes)} care-team notes, {len(ruleset.rules)} rules; "
        f"version {ruleset.version}, sha256 {ruleset.sha256}"
    )


@cli.command("evaluate")
@click.argument("answers_file", type=click.File("rb"))
@click.option("--json", "as_json", is_flag=True, help="Print the result JSON instead of the sheet.")
@click.option(
    "--rules",
    "rules_dir",
    type=click.Path(path_type=Path, file_okay=False),
    default=DEFAULT_RULES,
    show_default=True,
    help="Folder of the rule set.",
)
def evaluate(answers_file: Any, as_json: bool, rules_dir: Path) -> None:
    """Evaluate the answers in ANSWERS_FILE (JSON; '-' reads standard input)."""
    raw = _read_answers(answers_file)
    ruleset = _ruleset_or_exit(rules_dir)
    try:
        answers = ruleset.validate(raw)
    except AnswersError as error:
        for item in error.errors:
            click.echo(item.as_line(), err=True)
        sys.exit(1)
    result = ruleset.evaluate(answers)
    if as_json:
        click.echo(json.dumps(result.model_dump(mode="json"), indent=2, ensure_ascii=False))
    else:
        click.echo(render_text(result), nl=False)


def _read_answers(answers_file: Any) -> Any:
    """The file's JSON, held to the limits the web API sets on a request body."""
    name = getattr(answers_file, "name", "<stdin>")  # a binary standard input may have none
    data = answers_file.read(MAX_ANSWERS_BYTES + 1)
    if len(data) > MAX_ANSWERS_BYTES:
        _exit_with(
            f"{name}: the file is larger than {MAX_ANSWERS_BYTES // 1024} KiB, "
            "the most allowed for one answer set"
        )
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as error:
        _exit_with(f"{name}: not UTF-8 text (bad byte at position {error.start}); save it as UTF-8")
    try:
        raw = json.loads(
            text,
            parse_constant=json_body._reject_constant,
            parse_float=json_body._parse_float,
            parse_int=json_body._parse_int,
            object_pairs_hook=json_body._unique_keys,
        )
        json_body._check_values(raw, depth=1)  # nesting, and text that is whole characters
    except json.JSONDecodeError as error:
        _exit_with(f"{name}: not valid JSON: {error}")
    except json_body._BodyProblem as error:
        _exit_with(f"{name}: {error}")
    except RecursionError:
        _exit_with(f"{name}: {json_body._too_deep()}")
    except BadRequest as error:
        _exit_with(f"{name}: {error.description}")
    return raw


def _exit_with(message: str) -> NoReturn:
    click.echo(message, err=True)
    sys.exit(1)


def _ruleset_or_exit(rules_dir: Path) -> Any:
    from questionnaire.engine import RulesetError

    try:
        return load_ruleset(rules_dir)
    except RulesetError as error:
        for line in error.errors:
            click.echo(line, err=True)
        sys.exit(1)


register_clinic_commands(cli)


def main() -> None:
    cli()


if __name__ == "__main__":
    main()
