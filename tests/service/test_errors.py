"""The exception tree: every error reportd raises on purpose is in ``service.errors``, under
the branch that says what the pipeline does with it, and in the module's drawing."""

from __future__ import annotations

import inspect
import re

import pytest

from service import errors
from service.delivery import pdf, pipeline
from service.directory import secretbox

ERRORS = {
    name: value
    for name, value in vars(errors).items()
    if inspect.isclass(value) and issubclass(value, errors.ReportdError)
}


def test_every_error_class_is_drawn_in_the_module_docstring() -> None:
    drawing = errors.__doc__ or ""
    missing = [name for name in ERRORS if not re.search(rf"\b{name}\b", drawing)]
    assert missing == [], f"not in the drawing: {missing}"


@pytest.mark.parametrize(
    ("error", "branch"),
    [
        (errors.EncryptionUnavailable, errors.TransientFailure),
        (errors.BrowserBroken, errors.RenderFailed),
        (errors.BrowserBroken, errors.TransientFailure),
        (errors.RecipientGone, errors.PermanentFailure),
    ],
)
def test_given_a_failure_then_it_sits_under_the_branch_that_says_whether_to_retry(
    error: type[Exception], branch: type[Exception]
) -> None:
    assert issubclass(error, branch)


def test_given_a_mail_sent_but_unrecorded_then_it_is_neither_retried_nor_failed() -> None:
    # Under TransientFailure it would be retried (a second mail), under PermanentFailure the
    # delivery would be marked failed though it was sent.
    assert issubclass(errors.SentNotRecorded, errors.ReportdError)
    assert not issubclass(errors.SentNotRecorded, errors.TransientFailure)
    assert not issubclass(errors.SentNotRecorded, errors.PermanentFailure)


def test_the_modules_that_raise_them_use_the_tree_s_classes() -> None:
    assert pipeline.SentNotRecorded is errors.SentNotRecorded
    assert pipeline.RecipientGone is errors.RecipientGone
    assert pdf.BrowserBroken is errors.BrowserBroken
    assert secretbox.SecretUnreadable is errors.SecretUnreadable


def test_no_module_of_service_defines_an_error_of_its_own_outside_the_tree() -> None:
    # The API's Unauthorized and the console's SignInRequired and CsrfRefused are the drawn
    # exceptions (edge errors).
    import pkgutil

    import service

    allowed = {
        "service.api.keys.Unauthorized",
        "service.console.web.SignInRequired",
        "service.console.web.CsrfRefused",
    }
    stray = []
    for info in pkgutil.walk_packages(service.__path__, "service."):
        module = __import__(info.name, fromlist=["_"])
        for name, value in vars(module).items():
            if (
                inspect.isclass(value)
                and issubclass(value, BaseException)
                and value.__module__ == info.name
                and info.name != "service.errors"
                and not name.startswith("_")
                and f"{info.name}.{name}" not in allowed
            ):
                stray.append(f"{info.name}.{name}")
    assert stray == []
