"""Sampling with vLLM (GPU). vLLM is imported only when this backend is built.

Install with ``pip install vbvf[vllm]``. Prompts are passed as token ids (no second BOS);
each prompt gets its own seed, so its samples do not depend on the batch, nor on the engine
that draws them. ``tensor_parallel_size`` splits one engine over GPUs; ``data_parallel_size``
runs that many independent engines, each in its own worker process on its own GPUs, and deals
the prompts out among them (plain data parallelism, for dense models).
"""

from __future__ import annotations

import contextlib
import multiprocessing
import os
import traceback
from multiprocessing.connection import Connection
from multiprocessing.util import Finalize
from typing import Any, Sequence, TypeVar

from vbvf.policies.samplers.base import Completion, SamplingParams, prompt_seed
from vbvf.tasks.math.prompts import prompt_token_ids

POLL_S = 1.0  # how often a waiting side checks that the other is still alive
STOP_S = 30.0  # how long a worker may take to shut its engine down before it is killed

T = TypeVar("T")


class VLLMSampler:
    """``data_parallel_size`` copies of a model served by ``vllm.LLM``, each on ``tensor_parallel_size`` GPUs."""

    backend = "vllm"

    def __init__(
        self,
        name_or_path: str,
        tensor_parallel_size: int = 1,
        data_parallel_size: int = 1,
        dtype: str = "auto",
        gpu_memory_utilization: float = 0.9,
        max_model_len: int | None = None,
    ):
        self.name_or_path = str(name_or_path)
        engine = {
            "model": self.name_or_path,
            "tensor_parallel_size": tensor_parallel_size,
            "dtype": dtype,
            "gpu_memory_utilization": gpu_memory_utilization,
            "max_model_len": max_model_len,
        }
        if data_parallel_size == 1:
            from vllm import LLM

            self.llm, self.pool = LLM(**engine), None
            self.tokenizer = self.llm.get_tokenizer()
        else:
            from transformers import AutoTokenizer

            slices = gpu_slices(visible_gpus(), tensor_parallel_size, data_parallel_size)
            self.tokenizer = AutoTokenizer.from_pretrained(self.name_or_path)  # builds prompts here
            self.llm, self.pool = None, EnginePool(slices, engine)

    def sample(self, prompts: Sequence[str], params: SamplingParams) -> list[list[Completion]]:
        if self.pool is not None:
            return self.pool.sample(prompts, params)
        return _generate(self.llm, prompts, params)

    def close(self) -> None:
        """Stop the worker processes (a single engine lives as long as this object)."""
        if self.pool is not None:
            self.pool.close()


def _generate(llm, prompts: Sequence[str], params: SamplingParams) -> list[list[Completion]]:
    """One engine's samples: token-id prompts, a seed per prompt."""
    from vllm import SamplingParams as VLLMParams

    tokenizer = llm.get_tokenizer()
    requests = [{"prompt_token_ids": prompt_token_ids(p, tokenizer)} for p in prompts]
    per_prompt = [
        VLLMParams(
            n=params.n,
            temperature=params.temperature,
            top_p=params.top_p,
            max_tokens=params.max_tokens,
            seed=prompt_seed(params.seed, p),
            stop=list(params.stop),
        )
        for p in prompts
    ]
    outputs = llm.generate(requests, per_prompt, use_tqdm=False)
    return [[_completion(o) for o in out.outputs] for out in outputs]


def _completion(output) -> Completion:
    if output.finish_reason == "length":
        reason = "length"
    else:  # vLLM: stop_reason is None for EOS, the matched string (or token id) for a stop
        reason = "eos" if output.stop_reason is None else "stop"
    return Completion(output.text, len(output.token_ids), reason)


def visible_gpus() -> list[str]:
    """This process's GPUs as ``CUDA_VISIBLE_DEVICES`` names them (indices or UUIDs), else 0, 1, ..."""
    import torch

    count = torch.cuda.device_count()
    listed = os.environ.get("CUDA_VISIBLE_DEVICES")
    names = [name.strip() for name in listed.split(",")] if listed is not None else [str(i) for i in range(count)]
    return names[:count]


def gpu_slices(gpus: Sequence[str], tensor_parallel_size: int, data_parallel_size: int) -> list[str]:
    """Each engine's ``CUDA_VISIBLE_DEVICES``: consecutive runs of ``tensor_parallel_size`` GPUs."""
    needed = tensor_parallel_size * data_parallel_size
    if min(tensor_parallel_size, data_parallel_size) < 1 or needed > len(gpus):
        raise ValueError(
            f"data_parallel_size={data_parallel_size} x tensor_parallel_size={tensor_parallel_size} "
            f"needs {needed} GPUs (both at least 1); {len(gpus)} visible"
        )
    size = tensor_parallel_size
    return [",".join(gpus[i * size : (i + 1) * size]) for i in range(data_parallel_size)]


def split_round_robin(items: Sequence[T], n_shards: int) -> list[list[T]]:
    """Shard i holds items i, i + n_shards, ...; dealing evens out runs of long prompts."""
    return [list(items[i::n_shards]) for i in range(n_shards)]


def merge_round_robin(shards: Sequence[Sequence[T]]) -> list[T]:
    """The items of ``split_round_robin`` back in their original order."""
    merged: list = [None] * sum(len(shard) for shard in shards)
    for i, shard in enumerate(shards):
        merged[i :: len(shards)] = shard
    return merged


class VLLMWorkerError(RuntimeError):
    """A worker's engine raised (its traceback is in the message) or its process died."""


class EnginePool:
    """One engine per GPU slice, each in a worker process started here and kept until ``close``.

    Workers are not daemons (a daemon may not start processes, and vLLM does); they stop when
    closed, when this pool is garbage collected or the interpreter exits, or when the parent dies.
    """

    def __init__(self, slices: Sequence[str], engine: dict[str, Any]):
        context = multiprocessing.get_context("spawn")
        self.workers = [_Worker(context, i, devices, engine) for i, devices in enumerate(slices)]
        # exitpriority: run at exit before multiprocessing joins its non-daemon children
        self._finalizer = Finalize(self, _stop, args=(self.workers,), exitpriority=10)
        self._job = 0  # each worker answers job 0 once its engine is built
        try:
            _replies(self.workers, self._job)
        except VLLMWorkerError:
            self.close()
            raise

    def sample(self, prompts: Sequence[str], params: SamplingParams) -> list[list[Completion]]:
        self._job += 1
        shards = split_round_robin(prompts, min(len(self.workers), len(prompts)))
        busy = self.workers[: len(shards)]
        for worker, shard in zip(busy, shards):
            worker.request((self._job, shard, params))
        return merge_round_robin(_replies(busy, self._job))

    def close(self) -> None:
        self._finalizer()


class _Worker:
    """One engine's process and the parent's end of the pipe to it."""

    def __init__(self, context, index: int, devices: str, engine: dict[str, Any]):
        self.name = f"vLLM worker {index} (CUDA_VISIBLE_DEVICES={devices})"
        self.conn, child_conn = context.Pipe()
        self.process = context.Process(target=_serve, args=(devices, engine, child_conn), name=f"vllm-worker-{index}")
        self.process.start()
        child_conn.close()

    def request(self, request: tuple | None) -> None:
        with contextlib.suppress(OSError):  # a dead worker is reported by ``reply``
            self.conn.send(request)

    def reply(self, job: int) -> Any:
        """The answer to ``job``; raises if it failed or the worker died (checked every ``POLL_S`` s).

        Answers to earlier jobs, left unread when a ``sample`` was interrupted, are dropped.
        """
        answered = None
        while answered != job:
            while not self.conn.poll(POLL_S):
                if not self.process.is_alive() and not self.conn.poll():
                    raise self._exited()
            try:
                answered, status, payload = self.conn.recv()
            except EOFError:
                raise self._exited() from None
        if status == "error":
            raise VLLMWorkerError(f"{self.name} failed:\n{payload}")
        return payload

    def _exited(self) -> VLLMWorkerError:
        self.process.join(POLL_S)
        return VLLMWorkerError(f"{self.name} exited with code {self.process.exitcode}")


def _replies(workers: Sequence[_Worker], job: int) -> list:
    """Every worker's answer to ``job``, all read before the first failure is raised."""
    replies, failure = [], None
    for worker in workers:
        try:
            replies.append(worker.reply(job))
        except VLLMWorkerError as error:
            failure = failure or error
    if failure is not None:
        raise failure
    return replies


def _stop(workers: Sequence[_Worker]) -> None:
    for worker in workers:
        worker.request(None)
    for worker in workers:
        worker.process.join(STOP_S)
        if worker.process.is_alive():
            worker.process.kill()
            worker.process.join()
        worker.conn.close()


def _serve(devices: str, engine: dict[str, Any], conn: Connection) -> None:
    """A worker's life: build an engine on the GPUs ``devices``, then answer requests until told to stop."""
    os.environ["CUDA_VISIBLE_DEVICES"] = devices
    parent = os.getppid()
    try:
        from vllm import LLM

        llm = LLM(**engine)
    except Exception:  # noqa: BLE001 - the parent raises it, with this traceback
        conn.send((0, "error", traceback.format_exc()))
        return
    conn.send((0, "ok", None))
    while (request := _next_request(conn, parent)) is not None:
        job, prompts, params = request
        try:
            answer = (job, "ok", _generate(llm, prompts, params))
        except Exception:  # noqa: BLE001 - the parent raises it; the engine keeps serving
            answer = (job, "error", traceback.format_exc())
        conn.send(answer)


def _next_request(conn: Connection, parent: int) -> tuple | None:
    """The next (job, prompts, params); None when told to stop or when the parent is gone."""
    while not conn.poll(POLL_S):
        if os.getppid() != parent:
            return None
    try:
        return conn.recv()
    except EOFError:
        return None
