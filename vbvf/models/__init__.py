"""Models built from config: GPT-2-style LMs and verifiers for the planted task, with a local tokenizer."""
