"""``POST /reports``' body read into a run's spec: reportd's own options among them."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from service.api.reporting import ReportBody
from service.reports.spec import ReportSpec

BODY = {"reportTemplateID": 1, "recipients": {"contactIDs": [1]}}


def test_given_skip_if_empty_when_a_report_is_asked_then_its_run_leaves_out_empty_reports():
    # Given a body asking to skip empty reports, When read into the run's spec
    spec = ReportBody.model_validate(BODY | {"skipIfEmpty": True}).spec

    # Then the spec says so, and the run stores it (and reads it back) in the console's JSON
    assert spec.skip_if_empty is True
    stored = spec.to_api()
    assert stored["skipIfEmpty"] is True
    assert ReportSpec.stored("summary", stored).skip_if_empty is True


def test_given_no_skip_if_empty_when_a_report_is_asked_then_every_recipient_is_mailed():
    spec = ReportBody.model_validate(BODY).spec

    assert spec.skip_if_empty is False
    assert ReportSpec.stored("summary", spec.to_api()).skip_if_empty is False


def test_given_skip_if_empty_not_a_flag_when_a_report_is_asked_then_it_is_refused():
    with pytest.raises(ValidationError, match="skipIfEmpty"):
        ReportBody.model_validate(BODY | {"skipIfEmpty": "sometimes"})
