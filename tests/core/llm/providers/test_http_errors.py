def test_a_key_echoed_by_the_provider_never_reaches_the_error() -> None:
    """OpenAI's 401 names the key's tail; Google's names the key: neither may reach a
    log line, a task record or a client."""
    from agentqueue.core.llm.providers.http_errors import error_for_status

    openai_401 = error_for_status(
        401,
        "Incorrect API key provided: sk-proj-***************************wxyz. You can find "
        "your API key at https://platform.openai.com/account/api-keys.",
        provider="openai",
        model="gpt-4.1",
    )
    google_400 = error_for_status(
        400, "API key not valid: AIzaSyA1b2C3d4E5f6G7h8. Please pass a valid API key.",
        provider="google", model="gemini-2.5-flash",
    )  # fmt: skip
    assert "wxyz" not in str(openai_401) and "sk-proj" not in str(openai_401)
    assert "Incorrect API key provided" in str(openai_401)
    assert "AIza" not in str(google_400) and "API key not valid" in str(google_400)
