from agentqueue.simulator.text import estimate_tokens, reply_tokens


def test_replies_are_deterministic_and_depend_on_every_input() -> None:
    a = reply_tokens("m", None, ["hello"], 200)
    assert a == reply_tokens("m", None, ["hello"], 200)
    assert a != reply_tokens("m", "sys", ["hello"], 200)
    assert a != reply_tokens("m2", None, ["hello"], 200)
    assert a != reply_tokens("m", None, ["hello!"], 200)


def test_reply_never_exceeds_max_tokens() -> None:
    for n in (1, 2, 5, 19):
        assert 1 <= len(reply_tokens("m", None, ["x"], n)) <= n


def test_token_estimate() -> None:
    assert estimate_tokens(["abcd", "abcde"]) == (1 + 4) + (2 + 4)
