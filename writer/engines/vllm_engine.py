"""In-process vLLM engine (`vllm.LLM`): the default.

With no model given it loads the embedded SmolLM2-135M-Instruct (see `embedded.py`).
Each batch is rendered with the model's chat template (so prefilled assistant messages
can be continued) and handed to vLLM as token ids in one `generate` call, which vLLM
schedules together. On CPU builds it runs in eager mode (compiling costs ~90 s of start
for little speed on a small model) with its OpenMP threads on every CPU (unless
VLLM_CPU_OMP_THREADS_BIND says otherwise).

Scripts that build this engine need an `if __name__ == "__main__":` guard: vLLM spawns
worker processes.
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from writer.engines.base import ChatRequest, Completion, Engine
from writer.errors import EngineConfigError


def _is_local_path(model: str) -> bool:
    return model.startswith((".", "/", "~")) or os.sep in model and Path(model).expanduser().exists()


def cpu_bind_list() -> str:
    """All CPUs this process may run on, as vLLM's VLLM_CPU_OMP_THREADS_BIND list ("0,1")."""
    return ",".join(str(c) for c in sorted(os.sched_getaffinity(0)))


class VLLMEngine(Engine):
    name = "vllm"

    def __init__(
        self,
        model: str | None = None,
        max_model_len: int | None = None,
        enforce_eager: bool | None = None,
        seed: int = 0,
        **llm_kwargs,
    ):
        from writer.engines.embedded import embedded_model_dir

        if model is None:
            path = embedded_model_dir()
            model = str(path)
            max_model_len = max_model_len or 8192
        elif _is_local_path(model):
            path = Path(model).expanduser()
            if not (path / "config.json").exists():
                raise EngineConfigError(f"model folder not found or not a Hugging Face model folder: {model}")
            model = str(path)
        os.environ.setdefault("VLLM_LOGGING_LEVEL", "ERROR")
        os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "4")
        try:
            import vllm
            from vllm.platforms import current_platform
        except ImportError as exc:
            raise EngineConfigError(
                f"vLLM is not importable ({exc}); run scripts/bootstrap.sh, or install the `gpu` extra on GPU hosts"
            ) from None
        if current_platform.is_cpu():
            if enforce_eager is None:
                enforce_eager = True
            # vLLM's automatic binding keeps a core for its scheduler; on a small machine that halves
            # decode speed (2 cores: 9.4 -> 12.8 tok/s single, 17.7 -> 31.1 batched with all cores).
            os.environ.setdefault("VLLM_CPU_OMP_THREADS_BIND", cpu_bind_list())
        try:
            self.llm = vllm.LLM(model=model, max_model_len=max_model_len, enforce_eager=enforce_eager,
                                seed=seed, **llm_kwargs)
        except (OSError, ValueError) as exc:
            raise EngineConfigError(f"vLLM cannot load model {model!r}: {exc}".splitlines()[0]) from None
        self.model_id = model
        self.tokenizer = self.llm.get_tokenizer()
        self.context_window = int(self.llm.llm_engine.model_config.max_model_len)

    def render(self, req: ChatRequest) -> list[int]:
        """Token ids of the request's conversation under the model's chat template."""
        return self.tokenizer.apply_chat_template(
            [m.model_dump() for m in req.messages],
            tokenize=True,
            add_generation_prompt=not req.continue_final,
            continue_final_message=req.continue_final,
        )

    def _params(self, req: ChatRequest):
        from vllm import SamplingParams
        from vllm.sampling_params import StructuredOutputsParams

        structured = StructuredOutputsParams(json=req.json_schema) if req.json_schema is not None else None
        return SamplingParams(
            max_tokens=req.max_tokens,
            min_tokens=min(req.min_tokens, req.max_tokens),
            temperature=req.temperature,
            top_p=req.top_p,
            repetition_penalty=req.repetition_penalty,
            stop=req.stop or None,
            seed=req.seed,
            structured_outputs=structured,
        )

    def generate(self, requests: list[ChatRequest]) -> list[Completion]:
        if not requests:
            return []
        prompts = []
        for req in requests:
            ids = self.render(req)
            if hasattr(ids, "input_ids"):  # a BatchEncoding on some tokenizers
                ids = ids["input_ids"]
            if len(ids) + req.max_tokens > self.context_window:
                req = req.model_copy(update={"max_tokens": max(1, self.context_window - len(ids))})
            prompts.append(({"prompt_token_ids": list(ids)}, self._params(req)))
        started = time.perf_counter()
        outputs = self.llm.generate([p for p, _ in prompts], [s for _, s in prompts], use_tqdm=False)
        seconds = time.perf_counter() - started
        results = []
        for out in outputs:
            choice = out.outputs[0]
            results.append(Completion(
                text=choice.text,
                prompt_tokens=len(out.prompt_token_ids or []),
                completion_tokens=len(choice.token_ids),
                finish_reason=choice.finish_reason,
                seconds=seconds,
            ))
        return results

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer.encode(text, add_special_tokens=False))

    def close(self) -> None:
        llm = getattr(self, "llm", None)
        if llm is None:
            return
        shutdown = getattr(getattr(llm, "llm_engine", None), "engine_core", None)
        if shutdown is not None and hasattr(shutdown, "shutdown"):
            shutdown.shutdown()
        self.llm = None
