"""Structured configs: the typed schemas behind every YAML in ``conf/``, registered in Hydra's ConfigStore.

One root schema per testbed (``DidacticConfig``, ``MathEvalConfig``, ``MathArmsConfig``, group
``schema``); each experiment picks its own, so a key of another testbed, a typo or a value of the
wrong type fails at composition, before any compute, with a message that names the key. Group
options (``base=procedural``, ``base=lm``, …) each extend a schema registered here under their
group; the YAML files only set values.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Optional

from hydra.core.config_store import ConfigStore
from hydra.utils import instantiate
from omegaconf import MISSING, DictConfig

from vbvf.tasks.math.config import (
    AttemptsConfig,
    GradingConfig,
    ProblemSourceConfig,
    PromptConfig,
    SamplingConfig,
    SearchConfig,
    SelectionConfig,
    WrongAttemptsConfig,
)


@dataclass
class TrainConfig:
    """Optimiser settings of one training stage (every stage has its own copy in the config)."""

    max_steps: int = 200
    batch_size: int = 64
    learning_rate: float = 1e-3
    warmup_ratio: float = 0.05
    weight_decay: float = 0.0
    lr_scheduler_type: str = "cosine"
    bf16: bool = True  # bf16 autocast on GPUs that support it (never on CPU); false: fp32 with TF32 matmuls
    gradient_accumulation_steps: int = 1  # effective batch = batch_size · this · processes
    gradient_checkpointing: bool = False  # trades compute for memory; worth it only for large models
    # speed (docs/PERFORMANCE.md "Didactic study at paper scale")
    optim: Optional[str] = None  # transformers optimizer name; null: its default (adamw_torch_fused on torch >= 2.8)
    # batches of similar lengths (transformers' length-grouped sampler): less padding, but NOT the same
    # learning: where length tracks the outcome (planted traces) the gradient is biased; measured in
    # benchmarks/base_fit_batching.py (the base's gap stalls 4-9x higher), so no shipped config uses it
    group_by_length: bool = False
    # SFT stages only (base, VF, format SFT): each batch flattened into one row with per-trace position
    # ids and no padding (trl's padding_free); transformers then masks attention block-diagonally, so
    # the loss and gradients equal the padded batch's (tests/test_padding_free.py); faster or not depends
    # on the device and lengths (docs/PERFORMANCE.md: slower on the CPU, 1.1x on an H100 with SDPA)
    padding_free: bool = False
    torch_compile: bool = False  # torch.compile the model for training (pair with pad_to_multiple_of)
    # pad each batch to a multiple of this many tokens (few compiled shapes); never past the model's positions
    # (checked before training; the didactic base rounds its position table up to base_lm.train's multiple)
    pad_to_multiple_of: Optional[int] = None
    # resume inside the stage: save a checkpoint every this many steps (0: never) under the cache's
    # checkpoints/ folder; a rerun of an interrupted stage resumes from the newest one
    checkpoint_every: int = 0
    # let SDPA pick cuDNN's attention kernels while training on a GPU. Off: cuDNN's bf16 attention
    # backward is reported to turn gradients NaN after many healthy steps (trl#7181, pocket-tts#264:
    # torch-only repro, clean with the kernel disabled); the paper base diverged that way in bf16
    # (NaN at step 1,200) and ran clean to its target without it (docs/PERFORMANCE.md "bf16 A/B"; one
    # run each, so consistent with this kernel, not proof). Flash / memory-efficient kernels stand in
    cudnn_attention: bool = False


@dataclass
class HeldOutTrainConfig(TrainConfig):
    """A didactic stage's settings: the optimiser's, and held-out stopping. Every ``eval_every``
    steps it evaluates a held-out split of the stage's own data, keeps the best weights, and stops
    after ``patience`` evaluations without improvement; 0 trains exactly max_steps (the cap)."""

    eval_every: int = 0
    patience: int = 5
    holdout_fraction: float = 0.1  # VF, vf_expert, verifier: share of their own data held out (the base draws fresh traces)


@dataclass
class RLConfig(TrainConfig):
    """GRPO settings; ``batch_size`` counts prompts per step, each sampled ``num_generations`` times."""

    max_steps: int = 200
    batch_size: int = 16  # prompts per optimiser step
    learning_rate: float = 1e-4
    num_generations: int = 8  # group size G: completions per prompt; their mean reward is the baseline
    beta: float = 0.05  # KL(π ‖ π_b) coefficient; > 0 keeps π_b as a frozen reference model
    temperature: float = 1.0  # rollout sampling temperature (1 samples the policy itself)
    loss_type: str = "dr_grpo"  # trl loss aggregation; dr_grpo divides token sums by a constant: no length bias
    scale_rewards: str = "none"  # "none": advantages in reward units, so β trades reward against KL; "group": ÷ group std
    num_iterations: int = 1  # optimiser passes per batch of rollouts; > 1 makes the ratio clip (epsilon) act
    epsilon: float = 0.2  # clip range of the probability ratio π/π_old
    # rollouts: "generate" (trl's transformers generate) or "static" (vbvf.policies.static_decode:
    # static KV cache, one compiled CUDA-graph replay per token; eager on CPU)
    rollout: str = "generate"


@dataclass
class SamplerConfig:
    """How an LM policy is sampled."""

    batch_size: int = 1024
    temperature: float = 1.0
    device: str = "auto"
    decode: str = "generate"  # generate: transformers generate; static: vbvf.policies.static_decode (compiled on GPU)


@dataclass
class HFOptions:
    """Transformers ``generate`` options (``vbvf.policies.samplers.hf.HFSampler``)."""

    device: Optional[str] = None  # null: cuda if available, else cpu
    dtype: str = "auto"
    batch_size: int = 256  # rows (prompt × sample) per generate call
    cache_implementation: Optional[str] = None  # null: dynamic KV cache; static: compiled on a GPU
    decode: str = "generate"  # generate: transformers generate; static: vbvf.policies.static_decode (compiled on a GPU)
    decode_windows: int = 1  # decode=static: cache windows, one compiled graph each (docs/PERFORMANCE.md "Sixth measurement")


@dataclass
class VLLMOptions:
    """vLLM engine options (``vbvf.policies.samplers.vllm.VLLMSampler``)."""

    tensor_parallel_size: int = 1
    data_parallel_size: int = 1
    dtype: str = "auto"
    gpu_memory_utilization: float = 0.9
    max_model_len: Optional[int] = None


@dataclass
class HFSamplerConfig(HFOptions):
    """sampler=hf: a MATH sampler node, typed so a misspelt option fails at composition."""

    _target_: str = "vbvf.policies.samplers.hf.HFSampler"
    name_or_path: Optional[str] = None


@dataclass
class VLLMSamplerConfig(VLLMOptions):
    """sampler=vllm."""

    _target_: str = "vbvf.policies.samplers.vllm.VLLMSampler"
    name_or_path: Optional[str] = None


@dataclass
class AutoSamplerConfig:
    """sampler=auto: vLLM when importable with a GPU, else transformers, each with its options."""

    _target_: str = "vbvf.policies.samplers.base.auto_sampler"
    name_or_path: Optional[str] = None
    hf: HFOptions = field(default_factory=HFOptions)
    vllm: VLLMOptions = field(default_factory=VLLMOptions)


@dataclass
class ScorerConfig:
    """The MATH evaluation's verifier (``vbvf.policies.scorer.HFScorer``): outcome and process scores."""

    _target_: str = "vbvf.policies.scorer.HFScorer"
    name_or_path: Optional[str] = None
    device: Optional[str] = None
    dtype: str = "auto"
    batch_size: int = 16


@dataclass
class PretrainedModelConfig:
    """MATH: a pretrained model (``conf/model/``)."""

    name: str = "custom"
    name_or_path: Optional[str] = None  # a hub id, a local save_pretrained dir, or gguf:REPO/FILE


@dataclass
class ModelConfig:
    """Didactic: a GPT-2-style LM built from config (``conf/model/``)."""

    name: str = "tiny"
    n_layer: int = 2
    n_embd: int = 64
    n_head: int = 4
    dropout: float = 0.0


@dataclass
class TaskConfig:
    """The planted-subsequence task (SPEC §3)."""

    _target_: str = "vbvf.tasks.planted.PlantedTask"
    vocab_size: int = 10  # V digit tokens
    prompt_length: int = 5  # k
    gold_map: str = "contextual"  # contextual: g((x_i + x_{i-1}) mod V); elementwise: g(x_i)
    solve_mode: str = "subsequence"  # or substring (contiguous)
    n_train: int = 2000
    n_test: int = 200
    seed: int = 0  # fixes the hidden permutation g and the prompt split


@dataclass
class MixtureConfig:
    """The base data's mixture of procedural experts μ_γ: the heterogeneity knob."""

    name: str = "custom"
    gammas: list[float] = field(default_factory=lambda: [0.5])
    weights: list[float] = field(default_factory=list)  # empty: uniform


@dataclass
class ProceduralBaseConfig:
    """base=procedural: the exact mixture policy itself, no training."""

    _target_: str = "vbvf.pipeline.bases.procedural_base"
    gammas: list[float] = "${mixture.gammas}"  # type: ignore[assignment]
    weights: list[float] = "${mixture.weights}"  # type: ignore[assignment]


@dataclass
class LMBaseConfig:
    """base=lm: a GPT-2 (``model``) trained from scratch on traces of the procedural mixture."""

    _target_: str = "vbvf.pipeline.bases.lm_base"
    gammas: list[float] = "${mixture.gammas}"  # type: ignore[assignment]
    weights: list[float] = "${mixture.weights}"  # type: ignore[assignment]
    model: Any = "${model}"
    sampler: Any = "${sampler}"
    n_traces: int = "${base_lm.n_traces}"  # type: ignore[assignment]
    train: Any = "${base_lm.train}"
    target_nll_gap: float = "${base_lm.target_nll_gap}"  # type: ignore[assignment]
    n_heldout: int = "${base_lm.n_heldout}"  # type: ignore[assignment]


@dataclass
class BaseLMTraining:
    """Training of base=lm, kept outside ``base`` so experiments can set it whichever base is chosen."""

    n_traces: int = 20000  # mixture traces the base LM is trained on
    train: HeldOutTrainConfig = field(default_factory=lambda: HeldOutTrainConfig(max_steps=1500, batch_size=64, learning_rate=3e-3, eval_every=100))
    # convergence: stop once the held-out NLL is within this many nats/token of the mixture's Bayes NLL
    target_nll_gap: float = 0.02
    n_heldout: int = 2000  # fresh mixture traces on which the gap is measured (and as many on test prompts, reported)
    # fidelity: the base is faithful when |J_H/H(LM) − J_H/H(procedural)| ≤ this at every H of the grid
    fidelity_tolerance: float = 0.10


@dataclass
class DataConfig:
    """The data budget n: training prompts (problems) per arm."""

    n: int = 1000


@dataclass
class MathEvalData:
    """The problems evaluated on (``math_data=...``)."""

    eval: Optional[ProblemSourceConfig] = None


@dataclass
class MathArmsData(DataConfig):
    """The data budget n and the problem sets (``math_data=...``)."""

    eval: Optional[ProblemSourceConfig] = None  # problems evaluated on
    train: Optional[ProblemSourceConfig] = None  # problems the arms train on


@dataclass
class VFConfig:
    """VF arm: rejection-sample one success within H per prompt from π_b, SFT a student from π_b."""

    enabled: bool = True
    per_round: int = 4  # samples per prompt per round of rejection sampling
    max_rounds: int = 8  # prompts with no success after per_round·max_rounds samples are dropped
    expert_control: bool = True  # also SFT on the sharpest expert μ_1 (control)
    fit_check_prompts: int = 64  # after SFT, VF and vf_expert are sampled on this many of their own training prompts (fit.json)
    train: HeldOutTrainConfig = field(default_factory=lambda: HeldOutTrainConfig(max_steps=100, batch_size=64, learning_rate=1e-3))


@dataclass
class MathVFConfig:
    """MATH VF arm: SFT of π_b on one stitched trace per problem (j wrong attempts, then a right one)."""

    stitch: WrongAttemptsConfig = field(default_factory=lambda: WrongAttemptsConfig(max_wrong=3))  # j per stitched trace
    eval_traces: int = 4  # traces of at most H tokens per evaluation problem
    train: TrainConfig = field(default_factory=lambda: TrainConfig(max_steps=100, batch_size=64, learning_rate=1e-3))


@dataclass
class VerifierSection:
    labels: str = "prefix"  # prefix: "solved by step h" per step; outcome: one label per trace
    score_batch_size: int = 1024
    train: HeldOutTrainConfig = field(default_factory=lambda: HeldOutTrainConfig(max_steps=200, batch_size=64, learning_rate=1e-3))


@dataclass
class MathVerifierSection:
    labels: str = "outcome"  # the MATH verifier is an outcome verifier (checked before compute)
    score_batch_size: int = 1024
    max_length: int = 4096  # prompt + completion tokens; longer inputs keep their end (left truncation)
    train: TrainConfig = field(default_factory=lambda: TrainConfig(max_steps=200, batch_size=64, learning_rate=1e-3))


@dataclass
class BoNConfig:
    enabled: bool = True
    n_grid: list[int] = field(default_factory=lambda: [1, 4, 16])
    # T of the pick in J_H: after_all (the answer exists once all N candidates do) or sequential
    # (counts when the pick solves, candidates in order: an optimistic bound); vbvf/arms/bon.py
    return_convention: str = "after_all"
    # how the nested candidate pool is sampled (vbvf/arms/bon.py): full, every candidate to the largest
    # H; tiered, candidate j only to the longest budget ⌊H/N⌋ any (H, N > j) gives it (the same
    # distribution, ~20x fewer tokens for N up to 64; other random draws than full)
    pool: str = "full"


@dataclass
class ProgressSection:
    """Dense progress-reward GRPO (docs/DESIGN.md "Progress reward"): VB-RL's training settings
    (``vb.rl.train``), each token credited with the increase of a prefix value from its segment on."""

    enabled: bool = False  # vb_progress: the verifier's score of the prefix as the value
    true_control: bool = False  # rl_true_progress: the procedural mixture's exact value of the prefix
    segment_length: int = 1  # ℓ: tokens whose progress is credited together; ≥ H is outcome GRPO on the total
    true_value: str = "return"  # rl_true_progress: return, E[R_H/H | prefix]; success, P(T ≤ H | prefix)


@dataclass
class RLSection:
    enabled: bool = True  # VB-RL: GRPO with the verifier's score as reward, KL to π_b
    true_reward_control: bool = True  # control: the same RL with the true reward R_H/H
    train: RLConfig = field(default_factory=RLConfig)
    progress: ProgressSection = field(default_factory=ProgressSection)


@dataclass
class VBConfig:
    """VB arm: label base traces with T, train a verifier, then Best-of-N and RL with it."""

    traces_per_prompt: int = 1  # labelled base traces per training prompt (data budget n·this)
    verifier: VerifierSection = field(default_factory=VerifierSection)
    bon: BoNConfig = field(default_factory=BoNConfig)
    rl: RLSection = field(default_factory=RLSection)


@dataclass
class MathVBConfig:
    """MATH VB arm: an outcome verifier trained on labelled samples of π_b, then Best-of-N with it."""

    traces_per_prompt: int = 1  # samples of π_b per training problem: the verifier's labels and the VF stitching pool
    verifier: MathVerifierSection = field(default_factory=MathVerifierSection)


@dataclass
class HeterogeneityConfig:
    """MATH base heterogeneity control: SFT the pretrained model on traces with j wrong attempts
    before the right one, j ∈ {0..wrong.max_wrong}; ``enabled: false`` keeps the pretrained model."""

    level: str = "none"  # the name results and figures carry
    enabled: bool = False
    wrong: WrongAttemptsConfig = field(default_factory=WrongAttemptsConfig)
    problems_offset: int = 5000  # SFT problems: data.train[offset : offset + n_problems], after the arms' first data.n
    n_problems: int = 2000
    samples_per_problem: int = 8  # attempts of the pretrained model per problem: the pool of wrong and right attempts
    train: TrainConfig = field(default_factory=lambda: TrainConfig(max_steps=500, batch_size=16, learning_rate=1e-5))


@dataclass
class FormatSFTConfig:
    """MATH: a short SFT of the pretrained model on gold solutions (prompt → reference solution
    ending in a box) so that it boxes its answers; runs before the heterogeneity SFT, which then
    starts from it. ``check_samples`` samples per evaluation problem of the model before and after
    measure the share with a boxed answer."""

    enabled: bool = False
    problems_offset: int = 0  # gold solutions of data.train[offset : offset + n_problems], apart from the arms' and the heterogeneity SFT's
    n_problems: int = 100
    check_samples: int = 2
    train: TrainConfig = field(default_factory=lambda: TrainConfig(max_steps=40, batch_size=8, learning_rate=1e-4))


@dataclass
class MathFitCheckConfig:
    """MATH: when a trained stage counts as having fit its data (``fit.json``'s ``train_set``, judged in
    results.json's ``training``; a stage that misses is named in ``training_warnings``)."""

    sft_min_relative_drop: float = 0.1  # SFT stages: loss on the training set after ≤ (1 − this) × before
    verifier_min_auroc: float = 0.7  # the verifier: AUROC on its training samples, and BCE under the label prior's


@dataclass
class ControlsConfig:
    optimal: bool = True  # the optimal policy, T = k on every trace


@dataclass
class StatsConfig:
    """Statistics of the evaluation: samples per test prompt, ε grid, bootstrap."""

    samples_per_prompt: int = 32  # m
    eps: list[float] = field(default_factory=lambda: [0.25, 0.5, 1.0, 2.0])
    c0: float = 0.1  # report the share of prompts with c_x(ε) ≥ c0
    confidence: float = 0.95
    n_bootstrap: int = 2000


@dataclass
class EvalConfig(StatsConfig):
    """Evaluation grid and statistics: budgets H, and the statistics' settings."""

    horizons: list[int] = field(default_factory=lambda: [16, 32, 64, 128])


@dataclass
class CacheCheckConfig:
    """How reuse checks a cached stage's or sample entry's manifest (``vbvf/pipeline/manifest.py``)."""

    mode: str = "small"  # sizes: sizes only; small: also sha256 of files ≤ hash_max_mb; all: every sha256
    hash_max_mb: float = 256.0


@dataclass
class RunConfig:
    """Keys every testbed reads; ``pipeline`` names the function that runs the experiment."""

    experiment: str = "default"
    pipeline: str = "vbvf.pipeline.didactic.run"
    seed: int = 0
    cache_dir: str = ".vbvf_cache"  # stage artifacts, shared by runs and sweeps (see docs/DESIGN.md)
    cache_check: CacheCheckConfig = field(default_factory=CacheCheckConfig)
    torch_threads: int = 0  # > 0: torch.set_num_threads; use 1 when parallel jobs share few cores
    sampler: Any = MISSING  # sampler=lm (didactic LM policies) or hf / vllm / auto (MATH)


@dataclass
class DidacticConfig(RunConfig):
    """The planted-subsequence testbed (``vbvf/pipeline/didactic.py``)."""

    model: ModelConfig = field(default_factory=ModelConfig)
    task: TaskConfig = field(default_factory=TaskConfig)
    mixture: MixtureConfig = field(default_factory=MixtureConfig)
    base: Any = MISSING
    base_lm: BaseLMTraining = field(default_factory=BaseLMTraining)
    arms: list[Any] = field(default_factory=list)  # _target_ components of vbvf/arms/components.py (conf/arms/)
    data: DataConfig = field(default_factory=DataConfig)
    vf: VFConfig = field(default_factory=VFConfig)
    vb: VBConfig = field(default_factory=VBConfig)
    controls: ControlsConfig = field(default_factory=ControlsConfig)
    eval: EvalConfig = field(default_factory=EvalConfig)


@dataclass
class MathConfig(RunConfig):
    """Keys both MATH testbeds read: the pretrained model, prompts, sampling, selection, grading."""

    model: PretrainedModelConfig = field(default_factory=PretrainedModelConfig)
    sampling: SamplingConfig = field(default_factory=SamplingConfig)
    prompt: PromptConfig = field(default_factory=PromptConfig)
    selection: SelectionConfig = field(default_factory=SelectionConfig)
    grading: GradingConfig = field(default_factory=GradingConfig)


@dataclass
class MathEvalConfig(MathConfig):
    """MATH evaluation of a pretrained model (``vbvf/pipeline/math_eval.py``)."""

    pipeline: str = "vbvf.pipeline.math_eval.run_math_eval"
    data: MathEvalData = field(default_factory=MathEvalData)
    verifier: Optional[ScorerConfig] = None  # null: no verifier (verifier-free methods only)
    search: Optional[SearchConfig] = None
    eval: EvalConfig = field(default_factory=EvalConfig)


@dataclass
class MathArmsConfig(MathConfig):
    """The MATH arms, VF vs VB at matched H = N·h (``vbvf/pipeline/math_arms.py``)."""

    pipeline: str = "vbvf.pipeline.math_arms.run_math_arms"
    arms: list[Any] = field(default_factory=list)  # _target_ components of vbvf/arms/math_components.py (conf/arms/math.yaml)
    data: MathArmsData = field(default_factory=MathArmsData)
    attempts: AttemptsConfig = field(default_factory=AttemptsConfig)
    heterogeneity: HeterogeneityConfig = field(default_factory=HeterogeneityConfig)
    format_sft: FormatSFTConfig = field(default_factory=FormatSFTConfig)
    vf: MathVFConfig = field(default_factory=MathVFConfig)
    vb: MathVBConfig = field(default_factory=MathVBConfig)
    fit_check: MathFitCheckConfig = field(default_factory=MathFitCheckConfig)
    eval: StatsConfig = field(default_factory=StatsConfig)  # H = N·h comes from the selection grid
    train_launcher: list[str] = field(default_factory=list)  # training stages: [] in-process, or e.g. [accelerate, launch, --num_processes, "2"]


TESTBEDS = {"didactic": DidacticConfig, "math_eval": MathEvalConfig, "math_arms": MathArmsConfig}


def register_configs() -> None:
    """Put the schemas in Hydra's ConfigStore (called by the entry point before composing)."""
    cs = ConfigStore.instance()
    for name, schema in TESTBEDS.items():
        cs.store(group="schema", name=name, node=schema, package="_global_")
    cs.store(group="task", name="planted_schema", node=TaskConfig)
    cs.store(group="mixture", name="mixture_schema", node=MixtureConfig)
    cs.store(group="base", name="procedural_schema", node=ProceduralBaseConfig)
    cs.store(group="base", name="lm_schema", node=LMBaseConfig)
    cs.store(group="model", name="gpt2_schema", node=ModelConfig)
    cs.store(group="model", name="pretrained_schema", node=PretrainedModelConfig)
    cs.store(group="sampler", name="lm_schema", node=SamplerConfig)
    cs.store(group="sampler", name="hf_schema", node=HFSamplerConfig)
    cs.store(group="sampler", name="vllm_schema", node=VLLMSamplerConfig)
    cs.store(group="sampler", name="auto_schema", node=AutoSamplerConfig)


def build(node: DictConfig, **objects: Any) -> Any:
    """Instantiate the ``_target_`` of ``node`` with plain-Python values plus live ``objects``.

    Live objects (a task, a model) are passed after instantiation so Hydra never tries to turn
    them into config nodes.
    """
    return instantiate(node, _partial_=True, _convert_="all")(**objects)
