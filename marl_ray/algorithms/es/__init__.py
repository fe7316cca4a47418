"""OpenAI-style evolution strategies: workers exchange noise indices and scalars only."""
