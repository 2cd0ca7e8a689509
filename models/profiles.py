"""One profile per model architecture: every model-specific fact lives here."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class ModelProfile:
    name: str
    #: llama-cpp-python chat format name (the GGUF may carry no template of its own).
    chat_format: str
    #: Text around one user turn and the start of the assistant turn.
    user_prefix: str
    user_suffix: str
    assistant_prefix: str
    #: Text that ends the assistant turn (appended to training targets).
    assistant_suffix: str
    stop: tuple[str, ...]
    lora_target_modules: tuple[str, ...]
    #: Beginning-of-sequence text the tokenizer adds itself (not part of `render`).
    bos: str = ""

    def render(self, user: str, response: str | None = None) -> str:
        """The prompt for one user turn; with `response`, the whole training example."""
        prompt = f"{self.user_prefix}{user}{self.user_suffix}{self.assistant_prefix}"
        if response is None:
            return prompt
        return f"{prompt}{response}{self.assistant_suffix}"


GEMMA3 = ModelProfile(
    name="gemma3",
    chat_format="gemma",
    user_prefix="<start_of_turn>user\n",
    user_suffix="<end_of_turn>\n",
    assistant_prefix="<start_of_turn>model\n",
    assistant_suffix="<end_of_turn>\n",
    stop=("<end_of_turn>", "<eos>"),
    lora_target_modules=("q_proj", "k_proj", "v_proj", "o_proj", "gate_proj", "up_proj", "down_proj"),
    bos="<bos>",
)

PHI3 = ModelProfile(
    name="phi3",
    chat_format="phi3",
    user_prefix="<|user|>\n",
    user_suffix="<|end|>\n",
    assistant_prefix="<|assistant|>\n",
    assistant_suffix="<|end|>\n",
    stop=("<|end|>", "<|endoftext|>"),
    lora_target_modules=("qkv_proj", "o_proj", "gate_up_proj", "down_proj"),
    bos="<s>",
)

PROFILES: dict[str, ModelProfile] = {p.name: p for p in (GEMMA3, PHI3)}


def get_profile(name: str) -> ModelProfile:
    """The profile called `name`; a ValueError names the known ones otherwise."""
    try:
        return PROFILES[name]
    except KeyError:
        raise ValueError(f"unknown model profile {name!r}; known: {sorted(PROFILES)}") from None
