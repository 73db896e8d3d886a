import numpy as np
import torch

from vbvf.policies.samplers.gumbel import gumbel_noise, hash32, row_keys


def lowbias32(x: int) -> int:
    """Wellons' hash in plain uint32 arithmetic, the reference for the int64 version."""
    x = np.uint32(x)
    with np.errstate(over="ignore"):
        x ^= x >> np.uint32(16)
        x = np.uint32(x * np.uint32(0x7FEB352D))
        x ^= x >> np.uint32(15)
        x = np.uint32(x * np.uint32(0x846CA68B))
        x ^= x >> np.uint32(16)
    return int(x)


def test_hash32_is_lowbias32_without_int64_overflow():
    values = [0, 1, 2, 12345, 0xDEADBEEF, 2**32 - 1]
    assert hash32(torch.tensor(values)).tolist() == [lowbias32(v) for v in values]


def test_noise_is_standard_gumbel_and_depends_on_key_step_token_only():
    keys = row_keys([7] * 4000, list(range(4000)))
    noise = gumbel_noise(keys, 3, 6)
    assert abs(noise.mean().item() - 0.5772) < 0.03 and abs(noise.std().item() - 1.2825) < 0.03
    assert torch.equal(gumbel_noise(keys[10:12], 3, 6), noise[10:12])  # a row's noise ignores the other rows
    assert not torch.equal(gumbel_noise(keys, 4, 6), noise)


def test_gumbel_max_draws_from_the_distribution():
    probs = torch.tensor([0.5, 0.3, 0.15, 0.05])
    keys = row_keys([1] * 20000, list(range(20000)))
    draws = (probs.log() + gumbel_noise(keys, 0, 4)).argmax(1)
    assert torch.allclose(torch.bincount(draws, minlength=4) / 20000, probs, atol=0.01)
