"""The sidecar over real HTTP: a uvicorn server on 127.0.0.1 and an httpx client."""

from __future__ import annotations

import httpx
import pytest

from interleave.serving.app import ServiceConfig, create_app
from tests.interleave.serving.conftest import LiveServer

LISTS = [[1, 2, 3, 4, 5], [5, 4, 3, 2, 1]]


def test_interleave_click_and_read_the_live_result(live_service):
    url, _ = live_service
    with httpx.Client(base_url=url, timeout=10) as client:
        shown = client.post(
            "/interleave", json={"request_key": "r1", "user": "u1", "rankings": LISTS}
        )
        assert shown.status_code == 200
        body = shown.json()
        assert sorted(body["items"]) == [1, 2, 3, 4, 5]
        again = client.post(
            "/interleave", json={"request_key": "r1", "user": "u1", "rankings": LISTS}
        ).json()
        assert again["repeated"]
        assert again["items"] == body["items"]
        click = client.post("/clicks", json={"impression_id": body["impression_id"], "position": 0})
        assert click.status_code == 200
        assert click.json()["accepted"]
        result = client.get("/experiments/default").json()
        assert (result["n_impressions"], result["n_open"], result["n_clicks"]) == (1, 1, 1)
        assert result["decided_by"] == "MixtureSPRT"
        assert client.get("/experiments").json() == {"experiments": ["default"]}


def test_unknown_impression_click_is_rejected_and_counted(live_service):
    url, _ = live_service
    with httpx.Client(base_url=url, timeout=10) as client:
        client.post("/interleave", json={"request_key": "r1", "rankings": LISTS})
        response = client.post("/clicks", json={"impression_id": "nope", "position": 0})
        assert response.status_code == 404
        assert response.json()["field"] == "impression_id"
        result = client.get("/experiments/default").json()
        assert result["rejected_clicks"]["unknown_impression"] == 1


@pytest.mark.parametrize(
    ("body", "status", "field"),
    [
        ({"rankings": LISTS}, 422, "request_key"),
        ({"request_key": "r", "rankings": [[1, 2]]}, 422, "rankings"),
        ({"request_key": "r", "rankings": "12"}, 422, "rankings"),
        ({"request_key": "r", "rankings": [[1, 2], 3]}, 422, "rankings[1]"),
        ({"request_key": "r", "rankings": [[1, 1], [2]]}, 422, "rankings[0]"),
        ({"request_key": "r", "rankings": [list(range(51)), [1]]}, 413, "rankings[0]"),
        ({"request_key": 1.5, "rankings": LISTS}, 422, "request_key"),
        ({"request_key": "r", "user": [1], "rankings": LISTS}, 422, "user"),
        ({"request_key": "r", "experiment": "", "rankings": LISTS}, 422, "experiment"),
    ],
)
def test_bad_requests_get_4xx_naming_the_field(live_service, body, status, field):
    url, _ = live_service
    response = httpx.post(url + "/interleave", json=body, timeout=10)
    assert response.status_code == status, response.text
    assert response.json()["field"] == field


def test_body_size_limit_and_non_json(live_service):
    url, _ = live_service
    ranking = [f"item-{i:06d}" for i in range(40)]
    big = {"request_key": "r", "rankings": [ranking, ranking], "x": "y" * 5000}
    response = httpx.post(url + "/interleave", json=big, timeout=10)
    assert response.status_code == 413
    assert response.json()["field"] == "body"
    response = httpx.post(url + "/interleave", content=b"{not json", timeout=10)
    assert response.status_code == 400


def test_openapi_schema_and_dashboard_are_served(live_service):
    url, _ = live_service
    schema = httpx.get(url + "/openapi.json", timeout=10).json()
    assert schema["openapi"].startswith("3.")
    assert {"/interleave", "/clicks", "/experiments", "/experiments/{experiment_id}"} <= set(
        schema["paths"]
    )
    page = httpx.get(url + "/", timeout=10)
    assert page.status_code == 200
    assert "confidence sequence" in page.text


def test_created_experiment_keeps_its_configuration_across_a_restart(tmp_path):
    db = tmp_path / "events.db"
    with LiveServer(create_app(ServiceConfig(db=db))) as server:
        created = httpx.post(
            server.url + "/experiments",
            json={"id": "bal", "method": "balanced", "length": 4, "seed": 9},
            timeout=10,
        )
        assert created.status_code == 201
        shown = httpx.post(
            server.url + "/interleave",
            json={"experiment": "bal", "request_key": "k", "rankings": LISTS},
            timeout=10,
        ).json()
        assert len(shown["items"]) == 4
    with LiveServer(create_app(ServiceConfig(db=db))) as server:
        result = httpx.get(server.url + "/experiments/bal", timeout=10).json()
        assert result["method"] == "balanced"
        assert result["n_impressions"] == 1
        again = httpx.post(
            server.url + "/interleave",
            json={"experiment": "bal", "request_key": "k", "rankings": LISTS},
            timeout=10,
        ).json()
        assert again["repeated"]


def test_a_new_experiment_restores_its_state_off_the_event_loop(tmp_path, monkeypatch):
    # Creating an experiment reads the store (its restart state). That read must not stall the
    # other requests: here it waits until the main thread has been answered meanwhile.
    import threading

    import interleave.serving.app as app_module

    reading = threading.Event()
    answered = threading.Event()

    class SlowToRestore(app_module.Experiment):
        def __init__(self, experiment_id, *args, **kwargs):
            if experiment_id == "slow":
                reading.set()
                assert answered.wait(20), "the event loop did not answer while a store was read"
            super().__init__(experiment_id, *args, **kwargs)

    monkeypatch.setattr(app_module, "Experiment", SlowToRestore)
    app = create_app(ServiceConfig(db=tmp_path / "events.db"))
    with LiveServer(app) as server, httpx.Client(base_url=server.url, timeout=30) as client:
        client.post("/interleave", json={"request_key": "r0", "rankings": LISTS})
        outcome = {}

        def post_slow() -> None:
            outcome["slow"] = client.post(
                "/interleave",
                json={"experiment": "slow", "request_key": "r1", "rankings": LISTS},
            )

        worker = threading.Thread(target=post_slow)
        worker.start()
        assert reading.wait(20)
        with httpx.Client(base_url=server.url, timeout=5) as other:
            listed = other.get("/experiments")  # answered while "slow" is being restored
            served = other.post("/interleave", json={"request_key": "r2", "rankings": LISTS})
        answered.set()
        worker.join(30)
        assert listed.status_code == 200
        assert served.status_code == 200
        assert outcome["slow"].status_code == 200
        assert client.get("/experiments").json() == {"experiments": ["default", "slow"]}
