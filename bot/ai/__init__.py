"""The ``ai`` summary writer: the Anthropic Messages API (``anthropic`` SDK) behind the same
interface as the rules writer, grounded in one account's data and cached by its inputs.

``client`` builds the SDK client from the settings and calls it with retries; ``prompt`` holds
the static (prompt-cached) instructions and builds the account's bounded prompt; ``schema`` the
tool the model must answer with and its pydantic validation; ``grounding`` drops what the data
does not support; ``cache`` keeps answers by the hash of their inputs; ``writer`` ties them.
"""
