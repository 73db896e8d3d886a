"""GPU check: compiled ``StaticDecoder`` instances, new ones of shapes already compiled, draw what eager ones draw.

    PYTHONPATH=. python benchmarks/check_decoder_reuse.py

Each instance has its own ``StaticCache`` and buffers and captures its own CUDA graph of the compiled
step (torch.compile keys compiled code on the step's code object, shared by all instances); a second
call of an instance replays the graph its first call captured. Shapes alternate, as a benchmark's
warm-up call and its real one do. Float32 tiny Llama (grouped-query): the compiled decoders attend
with the decode attention (packed grouped-query heads, the cache cut per window), the eager reference
with transformers' SDPA over the whole cache. Prints, per
instance, the share of rows equal to the eager draw in its first and second call, and whether it
replays a graph (H100, 2026-12-07, torch's reduce-overhead graphs before the packed attention
existed: 1.00 for all four).
"""

from __future__ import annotations

import gc

import torch
from transformers import LlamaConfig, LlamaForCausalLM

from vbvf.policies import static_decode
from vbvf.policies.samplers.gumbel import row_keys
from vbvf.policies.static_decode import StaticDecoder


DEVICE = "cuda" if torch.cuda.is_available() else "cpu"  # on the CPU every decoder runs eagerly: a check of the script


def main() -> None:
    torch.manual_seed(0)
    config = LlamaConfig(hidden_size=128, num_hidden_layers=2, num_attention_heads=4, num_key_value_heads=2,
                         intermediate_size=256, vocab_size=512, max_position_embeddings=256)
    model = LlamaForCausalLM(config).to(DEVICE).eval()
    inputs = {shape: inputs_of(*shape) for shape in [(4, 16, 8), (64, 32, 48)]}
    ours = static_decode.use_decode_attention
    static_decode.use_decode_attention = lambda model: False  # the eager reference attends with transformers' SDPA
    eager = {shape: draw(StaticDecoder(model, *shape, eos=1, pad=0, temperature=0.8, compile=False), *inputs[shape])
             for shape in inputs}
    static_decode.use_decode_attention = ours
    for shape in [(4, 16, 8), (64, 32, 48)] * 2:  # alternating shapes, as a warm-up call then a real one
        decoder = StaticDecoder(model, *shape, eos=1, pad=0, temperature=0.8, compile=DEVICE == "cuda")
        out = draw(decoder, *inputs[shape])
        again = draw(decoder, *inputs[shape])  # a second call replays the graph the first one captured
        print(f"rows, width, new = {shape}: rows equal to eager {(out == eager[shape]).all(1).float().mean():.2f}, "
              f"second call {(again == eager[shape]).all(1).float().mean():.2f}, CUDA graph {decoder.graphed}", flush=True)
        gc.collect()


def inputs_of(rows: int, width: int, new: int):
    lengths = torch.randint(1, width + 1, (rows,))
    mask = (torch.arange(width)[None] >= width - lengths[:, None]).long().to(DEVICE)
    ids = torch.randint(3, 512, (rows, width)).to(DEVICE) * mask
    return ids, mask, row_keys(list(range(rows)), [0] * rows).to(DEVICE), new


def draw(decoder, ids, mask, keys, new):
    return decoder.sample(ids, new, attention_mask=mask, keys=keys)


if __name__ == "__main__":
    main()
