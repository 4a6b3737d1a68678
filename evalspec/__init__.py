"""evalspec: plan/apply for LLM evaluations on Scale's GenAI Platform, as code."""

__version__ = "0.1.0"
