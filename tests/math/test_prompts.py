import pytest
from transformers import AutoTokenizer

from vbvf.models.tiny_llama import save_tiny_llama
from vbvf.tasks.math.prompts import STEP_BY_STEP, build_prompt, prompt_token_ids


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    return save_tiny_llama(tmp_path_factory.mktemp("tiny"))


@pytest.fixture
def tokenizer(model_dir):
    return AutoTokenizer.from_pretrained(model_dir)


def test_chat_prompt_has_exactly_one_bos(tokenizer):
    prompt = build_prompt("What is $1+1$?", tokenizer)
    assert prompt.startswith(tokenizer.bos_token) and "<|assistant|>" in prompt
    assert r"within \boxed{}." in prompt
    ids = prompt_token_ids(prompt, tokenizer)
    assert ids[0] == tokenizer.bos_token_id and ids.count(tokenizer.bos_token_id) == 1


def test_plain_prompt_gets_bos_from_the_tokenizer(tokenizer):
    tokenizer.chat_template = None
    prompt = build_prompt("What is $1+1$?", tokenizer)
    assert prompt == STEP_BY_STEP.format(problem="What is $1+1$?")
    ids = prompt_token_ids(prompt, tokenizer)
    assert ids[0] == tokenizer.bos_token_id and ids.count(tokenizer.bos_token_id) == 1
