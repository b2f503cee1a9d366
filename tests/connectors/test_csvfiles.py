"""Survey and incident CSV exports, as form tools and PagerDuty/Opsgenie write them."""

from __future__ import annotations

from pathlib import Path

from tests.connectors.conftest import inserted, rows, sync, write_config

NPS = "How likely are you to recommend the ML platform to a colleague?"
EASE = "Deploying a model is easy"

GOOGLE_FORMS = f'''Timestamp,Email Address,Team,"{NPS}",{EASE},Anything else?
2026/03/02 10:15:32 AM GMT+1,ada@example.com,ranking,9,4,"great, thanks"
2026/03/02 4:01:00 PM GMT+1,bob@example.com,search,6,,
'''

SURVEY = {
    "type": "survey",
    "path": "forms.csv",
    "survey": "2026-q1-pulse",
    "questions": {
        NPS: {"id": "nps", "scale": "nps", "dimension": "satisfaction"},
        EASE: {"id": "deploy_ease", "scale": "likert5", "dimension": "efficiency"},
    },
}


def test_survey_csv_to_responses(tmp_path: Path, store_path: Path) -> None:
    (tmp_path / "forms.csv").write_text(GOOGLE_FORMS)
    config = write_config(tmp_path, {"pulse": SURVEY})
    code, data, err = sync(config, store_path)
    assert code == 0, err
    assert inserted(data, "pulse") == {"survey_responses": 3}  # bob skipped the likert question
    got = rows(
        store_path,
        "SELECT ts::VARCHAR, survey, question, score, scale, respondent, team, dimension "
        "FROM survey_responses ORDER BY ts, question",
    )
    assert got == [
        (
            "2026-03-02 09:15:32",
            "2026-q1-pulse",
            "deploy_ease",
            4.0,
            "likert5",
            "ada@example.com",
            "ranking",
            "efficiency",
        ),
        ("2026-03-02 09:15:32", "2026-q1-pulse", "nps", 9.0, "nps", "ada@example.com", "ranking", "satisfaction"),
        ("2026-03-02 15:01:00", "2026-q1-pulse", "nps", 6.0, "nps", "bob@example.com", "search", "satisfaction"),
    ]
    assert inserted(sync(config, store_path)[1], "pulse") == {}
    (tmp_path / "forms.csv").write_text(GOOGLE_FORMS + "2026/03/03 9:00:00 AM GMT+1,olga@example.com,platform,10,5,\n")
    assert inserted(sync(config, store_path)[1], "pulse") == {"survey_responses": 2}


def test_a_bad_score_rejects_the_connector_and_keeps_the_store(tmp_path: Path, store_path: Path) -> None:
    (tmp_path / "forms.csv").write_text(GOOGLE_FORMS)
    config = write_config(tmp_path, {"pulse": SURVEY})
    assert sync(config, store_path)[0] == 0
    (tmp_path / "forms.csv").write_text(GOOGLE_FORMS + "2026/03/03 9:00:00 AM GMT+1,olga@example.com,platform,11,5,\n")
    code, _, err = sync(config, store_path)
    assert code == 1 and "pulse: survey_responses: 1 bad row" in err and "score" in err
    assert rows(store_path, "SELECT count(*) FROM survey_responses") == [(3,)]
    bad = {**SURVEY, "questions": {"Missing question": {"scale": "nps"}}}
    code, _, err = sync(write_config(tmp_path, {"pulse": bad}), store_path)
    assert code == 1 and "question column 'Missing question' not found" in err


PAGERDUTY = """id,incident_number,description,service_name,urgency,priority,created_on,resolved_on,team_name
Q1ABC,101,Ranker 5xx,Ranker API,high,P1,2026-03-02T10:00:00-05:00,2026-03-02T11:30:00-05:00,serving
Q2DEF,102,Feature lag,Feature Store,low,,2026-03-04T08:00:00Z,,platform
"""


def test_pagerduty_incidents(tmp_path: Path, store_path: Path) -> None:
    (tmp_path / "pd.csv").write_text(PAGERDUTY)
    section = {"type": "incidents", "path": "pd.csv", "format": "pagerduty", "services": {"Ranker API": "ranker"}}
    config = write_config(tmp_path, {"pagerduty": section})
    code, data, err = sync(config, store_path)
    assert code == 0, err
    assert inserted(data, "pagerduty") == {"incidents": 2}
    got = rows(
        store_path,
        "SELECT id, service, team, severity, opened_at::VARCHAR, resolved_at::VARCHAR FROM incidents ORDER BY id",
    )
    assert got == [
        ("Q1ABC", "ranker", "serving", "P1", "2026-03-02 15:00:00", "2026-03-02 16:30:00"),
        ("Q2DEF", "Feature Store", "platform", None, "2026-03-04 08:00:00", None),
    ]
    assert inserted(sync(config, store_path)[1], "pagerduty") == {}
    (tmp_path / "pd.csv").write_text(
        PAGERDUTY.replace("2026-03-04T08:00:00Z,,", "2026-03-04T08:00:00Z,2026-03-04T09:00:00Z,")
    )
    code, data, _ = sync(config, store_path)
    row = next(r for r in data["connectors"] if r["kind"] == "incidents")
    assert (row["inserted"], row["updated"], row["unchanged"]) == (0, 1, 1)


def test_opsgenie_incidents_with_epoch_millis(tmp_path: Path, store_path: Path) -> None:
    (tmp_path / "og.csv").write_text(
        "TinyId,Message,Status,Priority,CreatedAt,ClosedAt,Impacted Services\n"
        "7,Model server down,closed,P2,1772445600000,1772449200000,ranker\n"
    )
    config = write_config(
        tmp_path, {"og": {"type": "incidents", "path": "og.csv", "format": "opsgenie", "id_prefix": "og-"}}
    )
    code, _, err = sync(config, store_path)
    assert code == 0, err
    assert rows(
        store_path, "SELECT id, service, severity, opened_at::VARCHAR, resolved_at::VARCHAR FROM incidents"
    ) == [("og-7", "ranker", "P2", "2026-03-02 10:00:00", "2026-03-02 11:00:00")]
