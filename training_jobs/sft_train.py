"""The fine-tuning function behind `training_jobs.sft`, the same in a Ray worker or in-process.

Examples are tokenised here as `bos + prompt + completion` in one piece, which is the text
llama.cpp sees when serving (it adds the bos, the prompt comes from the shared builder, the
model writes the completion); the loss is on the completion tokens only.
"""

from __future__ import annotations

import json
import platform
import random
import shutil
import sys
import time
from dataclasses import fields
from pathlib import Path
from typing import TYPE_CHECKING, Any

import torch
from transformers import TrainerCallback

from models.files import sha256_data
from models.profiles import ModelProfile, get_profile
from training_jobs.base_models import load_base
from training_jobs.data import Pair, load_pairs, split_pairs, to_examples
from training_jobs.sft_config import as_recorded, recorded_config
from training_jobs.therapy_data import as_pairs, load_entry

if TYPE_CHECKING:
    from training_jobs.sft import SFTConfig


def emit(event: str, **fields: Any) -> None:
    """One JSON line of progress on stdout."""
    print(json.dumps({"event": event, **fields}), flush=True)


class JsonProgress(TrainerCallback):
    """Prints step, loss, learning rate, tokens/s and elapsed seconds as JSON lines."""

    def __init__(self) -> None:
        self.started = self.last_time = time.monotonic()
        self.last_tokens = 0
        self.last_loss: float | None = None

    def on_train_begin(self, args, state, control, **kwargs):
        self.started = self.last_time = time.monotonic()

    def on_log(self, args, state, control, logs=None, **kwargs):
        logs = logs or {}
        now = time.monotonic()
        if "loss" in logs:
            tokens = int(state.num_input_tokens_seen)
            rate = (tokens - self.last_tokens) / max(now - self.last_time, 1e-9)
            self.last_time, self.last_tokens, self.last_loss = now, tokens, float(logs["loss"])
            emit(
                "step",
                step=state.global_step,
                max_steps=state.max_steps,
                loss=round(self.last_loss, 4),
                lr=logs.get("learning_rate"),
                tokens_per_s=round(rate, 1),
                elapsed_s=round(now - self.started, 1),
            )
        elif "eval_loss" in logs:
            emit("eval", step=state.global_step, eval_loss=round(float(logs["eval_loss"]), 4))


def tokenize(examples: list[dict[str, str]], tokenizer: Any, profile: ModelProfile) -> list[dict]:
    """input_ids of bos + prompt + completion in one piece; labels -100 except on the completion.

    Returns rows ready for the trainer (its own preparation is skipped, so no TRL version can
    tokenise the prompt apart from the completion or append an eos that serving never sees).
    """
    rows = []
    for ex in examples:
        prompt = tokenizer(profile.bos + ex["prompt"], add_special_tokens=False)["input_ids"]
        ids = tokenizer(profile.bos + ex["prompt"] + ex["completion"], add_special_tokens=False)["input_ids"]
        if profile.bos and ids[0] != tokenizer.bos_token_id:
            raise ValueError(f"the tokenizer does not read {profile.bos!r} as its bos token")
        shared = next((i for i, (a, b) in enumerate(zip(prompt, ids, strict=False)) if a != b), len(prompt))
        rows.append({"input_ids": ids, "labels": [-100] * shared + ids[shared:]})
    return rows


def _load_data(config: SFTConfig, tokenizer: Any, profile: ModelProfile) -> tuple[list, list]:
    """(pairs, per-file info): dataset sections mapped onto therapy sections and cleaned
    (training_jobs.therapy_data), pairs over max_seq_len tokens dropped, entries repeated
    `repeat` times, then max_rows sampled."""

    def count(text: str) -> int:
        return len(tokenizer(profile.bos + text, add_special_tokens=False)["input_ids"])

    pairs: list[Pair] = []
    files = []
    for entry in config.data:
        mapped = load_entry(
            entry["path"], entry["preset"], per_group=int(entry.get("per_group", 0)), seed=config.seed
        )
        if mapped is None:
            loaded = load_pairs(
                entry["path"], entry["preset"], config.max_seq_len, count, profile=profile, on_error="drop"
            )
            cleaning: dict = {}
        else:
            therapy, report = mapped
            candidates = as_pairs(therapy, Pair)
            loaded = [
                p
                for p in candidates
                if count("".join(to_examples([p], profile)[0].values())) <= config.max_seq_len
            ]
            cleaning = report.as_dict()
        repeat = int(entry.get("repeat", 1))
        pairs += list(loaded) * repeat
        info = {
            **entry,
            "path": as_recorded(entry["path"]),
            "sha256": sha256_data(entry["path"]),
            "rows": len(loaded),
            "repeat": repeat,
            "cleaning": cleaning,
        }
        files.append(info)
        emit("data", file=Path(entry["path"]).name, rows=len(loaded), repeat=repeat, cleaning=cleaning)
    if config.max_rows and len(pairs) > config.max_rows:
        keep = sorted(random.Random(config.seed).sample(range(len(pairs)), config.max_rows))
        pairs = [pairs[i] for i in keep]
    return pairs, files


def train(config: SFTConfig) -> dict:
    """Fine-tune `config.base_model` with LoRA; write the adapter and train_summary.json.

    Returns the summary (also written to `<run_dir>/train_summary.json`).
    """
    import datasets
    import trl
    from peft import LoraConfig, get_peft_model, prepare_model_for_kbit_training
    from transformers.trainer_callback import PrinterCallback, ProgressCallback
    from transformers.utils import logging as hf_logging

    started = time.monotonic()
    hf_logging.disable_progress_bar()
    datasets.disable_progress_bars()
    torch.set_num_threads(config.num_threads)
    cuda = torch.cuda.is_available()
    # fp32 weights everywhere (TF32 matmuls on a GPU): a bf16 run of Gemma 3 270M diverged to NaN
    # after ~200 steps on an H100 (loss 2.1 -> 0.0/NaN), so mixed precision stays off.
    dtype = torch.float32
    if cuda:
        torch.backends.cuda.matmul.allow_tf32 = True
    profile = get_profile(config.profile)

    emit("load", base_model=config.base_model, device="cuda" if cuda else "cpu")
    model, tokenizer = load_base(config.base_model, config.base_path, config.quantization, dtype)
    pairs, files = _load_data(config, tokenizer, profile)
    split = split_pairs(pairs, config.seed, tuple(config.split_fractions))
    if not split.train:
        raise ValueError("no training pairs left: check data, max_rows and max_seq_len")
    train_rows = tokenize(to_examples(split.train, profile), tokenizer, profile)
    eval_rows = tokenize(to_examples(split.validation, profile), tokenizer, profile)

    if config.quantization == "nf4":
        model = prepare_model_for_kbit_training(
            model, use_gradient_checkpointing=config.gradient_checkpointing
        )
    lora = LoraConfig(
        r=config.lora_r,
        lora_alpha=config.lora_alpha,
        lora_dropout=config.lora_dropout,
        task_type="CAUSAL_LM",
        target_modules=list(config.target_modules or profile.lora_target_modules),
    )
    model = get_peft_model(model, lora)
    if config.init_adapter:
        from training_jobs.lora_init import adapter_source, load_into

        source = adapter_source(config.init_adapter, config.artifact_store)
        copied = load_into(model, source, config.lora_r, config.lora_alpha)
        emit("init_adapter", source=source.name, tensors=copied)
    args = trl.SFTConfig(
        output_dir=str(config.run_dir / "trainer"),
        per_device_train_batch_size=config.batch_size,
        per_device_eval_batch_size=config.batch_size,
        gradient_accumulation_steps=config.grad_accum,
        learning_rate=config.lr,
        num_train_epochs=config.epochs,
        max_steps=config.max_steps or -1,
        warmup_steps=config.warmup_ratio,
        **_checkpointing(trl.SFTConfig, config.gradient_checkpointing),
        bf16=False,
        use_cpu=not cuda,
        max_length=config.max_seq_len,
        # Rows come tokenised with completion-only labels (see `tokenize`).
        completion_only_loss=True,
        dataset_kwargs={"skip_prepare_dataset": True},
        packing=False,
        logging_steps=1,
        # Only the loss is evaluated: gathering a 262k-wide logit row per token would take GBs.
        prediction_loss_only=True,
        save_strategy="no",
        eval_strategy="no",
        report_to="none",
        disable_tqdm=True,
        include_num_input_tokens_seen="non_padding",
        ddp_find_unused_parameters=False,
        dataloader_num_workers=0,
        seed=config.seed,
        data_seed=config.seed,
    )
    progress = JsonProgress()
    trainer = _completion_logits_trainer(trl.SFTTrainer)(
        model=model,
        args=args,
        train_dataset=datasets.Dataset.from_list(train_rows),
        eval_dataset=datasets.Dataset.from_list(eval_rows) if eval_rows else None,
        processing_class=tokenizer,
        callbacks=[progress],
    )
    for noisy in (PrinterCallback, ProgressCallback):
        trainer.remove_callback(noisy)
    train_start = time.monotonic()
    result = trainer.train()
    train_seconds = time.monotonic() - train_start
    eval_loss = trainer.evaluate()["eval_loss"] if eval_rows else None

    adapter_dir = config.run_dir / "adapter"
    trainer.model.save_pretrained(adapter_dir, save_embedding_layers=False)
    tokenizer.save_pretrained(adapter_dir)
    shutil.rmtree(config.run_dir / "trainer", ignore_errors=True)
    tokens = int(trainer.state.num_input_tokens_seen)
    summary = {
        "run_name": config.run_name,
        "config": recorded_config(config),
        "data": files,
        "rows": {
            "train": len(split.train),
            "validation": len(split.validation),
            "test": len(split.test),
        },
        "steps": trainer.state.global_step,
        "final_train_loss": progress.last_loss,
        "mean_train_loss": result.training_loss,
        "eval_loss": eval_loss,
        "tokens": tokens,
        "tokens_per_s": round(tokens / max(train_seconds, 1e-9), 1),
        "train_seconds": round(train_seconds, 1),
        "seconds": round(time.monotonic() - started, 1),
        "device": torch.cuda.get_device_name() if cuda else platform.processor() or "cpu",
        "dtype": str(dtype).removeprefix("torch."),
        "trainable_parameters": sum(p.numel() for p in model.parameters() if p.requires_grad),
        "versions": _versions(),
    }
    path = config.run_dir / "train_summary.json"
    path.write_text(json.dumps(summary, indent=2) + "\n", encoding="utf-8")
    emit(
        "saved",
        adapter=str(adapter_dir),
        summary=str(path),
        eval_loss=eval_loss,
        seconds=summary["seconds"],
    )
    return summary


def _completion_logits_trainer(base: type) -> type:
    """`base` (an SFTTrainer) computing vocabulary logits only where a label is.

    With a 262k-token vocabulary the output layer is most of Gemma 3 270M's compute, and the
    transcript (most of each example) carries no loss: the logits of the prompt are never made.
    The loss is the same token-level cross-entropy the trainer computes over the completion.
    """

    class CompletionLogitsTrainer(base):  # type: ignore[misc,valid-type]
        def compute_loss(self, model, inputs, return_outputs=False, num_items_in_batch=None):
            labels = inputs["labels"]
            labelled = (labels != -100).any(dim=0).nonzero()
            first = int(labelled[0]) if len(labelled) else labels.shape[1] - 1
            keep = labels.shape[1] - first + 1  # logits at first-1 .. end predict first .. end
            outputs = model(
                input_ids=inputs["input_ids"],
                attention_mask=inputs.get("attention_mask"),
                logits_to_keep=keep,
                use_cache=False,
            )
            logits = outputs.logits[:, :-1, :].float()
            target = labels[:, labels.shape[1] - keep + 1 :].to(logits.device)
            loss = torch.nn.functional.cross_entropy(
                logits.reshape(-1, logits.shape[-1]), target.reshape(-1), ignore_index=-100, reduction="sum"
            )
            count = num_items_in_batch if num_items_in_batch is not None else (target != -100).sum()
            loss = loss / torch.as_tensor(count, device=loss.device).clamp(min=1)
            return (loss, outputs) if return_outputs else loss

    return CompletionLogitsTrainer


def _checkpointing(args_class: type, enabled: bool) -> dict[str, Any]:
    """Activation checkpointing arguments under their name in this transformers version."""
    names = {f.name for f in fields(args_class)}
    prefix = "activation" if "activation_checkpointing" in names else "gradient"
    return {
        f"{prefix}_checkpointing": enabled,
        f"{prefix}_checkpointing_kwargs": {"use_reentrant": False},
    }


def _versions() -> dict[str, str]:
    import peft
    import transformers
    import trl

    return {
        "python": sys.version.split()[0],
        "torch": torch.__version__,
        "transformers": transformers.__version__,
        "peft": peft.__version__,
        "trl": trl.__version__,
    }


def merge_adapter(
    base: str | Path,
    adapter_dir: str | Path,
    out_dir: str | Path,
    base_path: str | Path | None = None,
) -> Path:
    """Merge a LoRA adapter into its base model; save the full model and tokenizer to `out_dir`.

    `base` is a base model name (`gemma3-270m`, `phi3`, `tiny-phi3`, with `base_path` as in
    `load_base`) or a path: a `.gguf` file (Gemma) or a Hugging Face model folder. The merge is
    done in float32, unquantised, for GGUF export. Returns `out_dir`.
    """
    from peft import PeftModel

    from training_jobs.base_models import BASE_MODELS

    if str(base) not in BASE_MODELS:
        base, base_path = ("gemma3-270m" if str(base).endswith(".gguf") else "phi3"), base
    model, tokenizer = load_base(str(base), base_path, "none", torch.float32)
    merged = PeftModel.from_pretrained(model, str(adapter_dir)).merge_and_unload()
    out = Path(out_dir)
    merged.save_pretrained(out)
    tokenizer.save_pretrained(out)
    source = Path(tokenizer.name_or_path) / "tokenizer.model"
    if source.is_file() and not (out / "tokenizer.model").exists():
        shutil.copy(source, out / "tokenizer.model")  # the Phi-3 GGUF converter reads it
    return out
