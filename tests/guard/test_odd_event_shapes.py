"""An event of an odd shape from either side (found by tests/fuzz/test_guard_events.py): Guard passes
it on and the app keeps its session; before, `response.done` with `output: true` raised in
Guard's bookkeeping and the app's connection was dropped without a word."""

import json

from tests.fuzz import test_guard_events as fuzz
from tests.fuzz.test_guard_events import PLAY, case

guarded = fuzz.guarded      # the fuzz's Guard in front of its scripted upstream, as a fixture here too


def test_a_response_done_whose_output_is_not_a_list_keeps_the_app_connected(guarded):
    lt, up, guard = guarded
    for output in (True, 7, "text", {"a": 1}, [{"content": 5}], [{"content": [{"transcript": 3}]}]):
        up.script = [json.dumps({"type": "response.created", "event_id": "u1",
                                 "response": {"id": "resp_1", "status": "in_progress", "output": []}}),
                     json.dumps({"type": "response.done", "event_id": "u6",
                                 "response": {"id": "resp_1", "status": "completed", "output": output}})]
        assert lt.run(case(guard, [json.dumps({"type": PLAY})])) == [], output


def test_a_response_create_whose_input_is_not_a_list_keeps_the_session(guarded):
    lt, up, guard = guarded
    up.script = []
    for value in (True, 3, "x", {"a": 1}):
        sent = json.dumps({"type": "response.create", "response": {"conversation": "none", "input": value}})
        assert lt.run(case(guard, [sent])) == [], value
