"""The lexical guard refuses prompts that differ in a fact, and lets true paraphrases by."""

from __future__ import annotations

import pytest
from hypothesis import given
from hypothesis import strategies as st

from agentqueue.core.cache.guard import facts, refusal

REFUSED = [
    ("What is 17 + 25?", "What is 17 + 26?", "numbers"),
    ("Paris is the capital of France", "Paris is not the capital of France", "negation"),
    ("I don't like it", "I do like it", "negation"),
    ("I don\u2019t like it", "I do like it", "negation"),
    ("What is 17 + 25?", "What is 17 - 25?", "operators"),
    ("Is x > 3?", "Is x < 3?", "operators"),
    ("What is the capital of France?", "What is the capital of Germany?", "entities"),
    ("Paris is the capital of France", "London is the capital of France", "entities"),
    ("Call get_user", "Call get_users", "entities"),
    ("What happened on May 5?", "What happened on May 6?", "numbers"),
    ("What is on Monday?", "What is on Tuesday?", "dates"),
    ("What was the weather yesterday?", "What is the weather tomorrow?", "dates"),
    ("Which is the largest planet?", "Which is the smallest planet?", "comparison"),
    ("Translate 'blue cat' to French", "Translate 'red cat' to French", "quoted"),
    ("Buy three apples", "Buy four apples", "numbers"),
    ("What is 86 - 55?", "What is 55 - 86?", "numbers"),
    ("Set the timeout to 1.5 s", "Set the timeout to 15 s", "numbers"),
    ("Is coffee good for you?", "Is coffee bad for you?", "wording"),
    ("Summarize the benefits of caching.", "Summarize the drawbacks of caching.", "wording"),
    ("What color do red and blue make?", "What color do red and purple make?", "wording"),
    (
        "Write a function that sorts the list of orders by date and returns it",
        "Write a function that sorts the list of orders by date and returns it in place",
        "wording",
    ),
]

PASSED = [
    ("What is the capital of France?", "What's the capital of France?"),
    ("What is the capital of France?", "what is the capital of france"),
    ("How do I reverse a list in Python?", "How can I reverse a list in Python?"),
    ("How do I reverse a list in Python?", "How do you reverse a Python list?"),
    ("Summarize the benefits of unit testing.", "Summarise the benefits of unit testing."),
    ("Explain how a hash map works.", "Explain how hash maps work."),
    ("Is 1,000 more than 999?", "Is 1000 more than 999?"),
    ("What color do red and blue make?", "What colour do red and blue make?"),
    ("Convert 5 miles to kilometers.", "Convert 5 miles to kilometres."),
    ("Please list the prime numbers.", "List the prime numbers"),
]


@pytest.mark.parametrize(("asked", "cached", "reason"), REFUSED)
def test_a_difference_in_a_fact_refuses(asked: str, cached: str, reason: str) -> None:
    assert refusal(asked, cached) == reason
    assert refusal(cached, asked) == reason


@pytest.mark.parametrize(("asked", "cached"), PASSED)
def test_paraphrases_keeping_every_fact_pass(asked: str, cached: str) -> None:
    assert refusal(asked, cached) is None
    assert refusal(cached, asked) is None


def test_double_negation_is_not_negation() -> None:
    assert refusal("It is not true", "It is not not true") == "negation"


TEXT = st.text(alphabet=st.characters(codec="utf-8", categories=["L", "N", "P", "Zs", "S"]))


@given(TEXT)
def test_a_prompt_never_differs_from_itself(text: str) -> None:
    assert refusal(text, text) is None


@given(TEXT, TEXT)
def test_refusal_is_symmetric_in_whether_it_refuses(a: str, b: str) -> None:
    assert (refusal(a, b) is None) == (refusal(b, a) is None)


@given(
    st.sampled_from(["What is {} + {}?", "Add {} and {}", "Compute {} * {} for me"]),
    st.integers(0, 10**6),
    st.integers(0, 10**6),
    st.integers(0, 10**6),
)
def test_any_changed_number_refuses(template: str, x: int, y: int, z: int) -> None:
    if y != z:
        assert refusal(template.format(x, y), template.format(x, z)) == "numbers"


@given(st.sampled_from(["Paris", "the sky", "Python", "water"]), st.sampled_from(["is", "was"]))
def test_an_added_negation_refuses(subject: str, verb: str) -> None:
    plain = f"{subject} {verb} blue"
    assert refusal(plain, f"{subject} {verb} not blue") == "negation"
    assert refusal(plain, f"{subject} {verb} never blue") == "negation"


def test_facts_name_what_they_found() -> None:
    f = facts('On Monday, NASA said "go" and 3 > 2 is not false in file_name.py')
    assert f.numbers == ("3", "2") and f.operators == (">",)
    assert f.dates == {"monday"} and f.negations == 1 and f.quoted == {"go"}
    assert {"nasa", "file_name.py"} <= f.entities
