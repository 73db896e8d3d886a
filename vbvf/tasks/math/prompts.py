"""Prompts for MATH: a template filled with the problem, wrapped in the chat template if any;
and the solution format, steps separated by blank lines.

The rendered prompt is a string; :func:`prompt_token_ids` encodes it without adding a second
BOS when the chat template already wrote one.
"""

from __future__ import annotations

STEP_BY_STEP = "{problem}\nPlease reason step by step, and put your final answer within \\boxed{{}}."
STEP_SEPARATOR = "\n\n"  # between the steps of a solution


def split_steps(text: str) -> list[str]:
    """Steps of a solution text: non-empty chunks between blank lines."""
    return [chunk.strip() for chunk in text.split(STEP_SEPARATOR) if chunk.strip()]


def build_prompt(problem: str, tokenizer, template: str = STEP_BY_STEP, system: str | None = None) -> str:
    """The text the model continues: the filled template, as a chat turn when the tokenizer has one."""
    user = template.format(problem=problem)
    if not getattr(tokenizer, "chat_template", None):
        return user
    messages = ([{"role": "system", "content": system}] if system else []) + [{"role": "user", "content": user}]
    return tokenizer.apply_chat_template(messages, tokenize=False, add_generation_prompt=True)


def prompt_token_ids(prompt: str, tokenizer) -> list[int]:
    """Token ids of ``prompt``; special tokens are added only if it does not already start with BOS."""
    bos = tokenizer.bos_token
    has_bos = bool(bos) and prompt.startswith(bos)
    return tokenizer(prompt, add_special_tokens=not has_bos)["input_ids"]
