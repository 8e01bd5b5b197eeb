"""In-process vLLM engine (`vllm.LLM`): the default.

The model is a registered local model name (`models.py`; with none given, the default), a
Hugging Face folder, or a hub id.
Each request is rendered with the model's chat template (so prefilled assistant messages
can be continued) and handed to vLLM as token ids; where it repeats text the engine generated,
with the ids the model generated for it (`token_reuse.py`), so the prefix cache serves it.

Calls may come from many threads at once (the sections of a document in parallel mode, the
documents of a batch job). One thread of this engine, the stepper, owns vLLM's engine loop:
it adds whatever requests callers have submitted and steps the engine, so a request joins
the running batch at the next step and leaves it when done (continuous batching). A blocking
`LLM.generate` per call would instead make every caller wait for the slowest sequence of the
batch it happened to join. On CPU builds it runs in eager mode (compiling costs ~90 s of start
for little speed on a small model) with its OpenMP threads on every CPU (unless
VLLM_CPU_OMP_THREADS_BIND says otherwise).

Scripts that build this engine need an `if __name__ == "__main__":` guard: vLLM spawns
worker processes.
"""

from __future__ import annotations

import itertools
import math
import os
import signal
import threading
import time
from concurrent.futures import Future

from writer.engines.base import TOP_LOGPROBS, ChatRequest, Completion, Engine, score_choices
from writer.engines.models import registered_name, resolve
from writer.engines.shm import Segments, alive, descendants
from writer.engines.token_reuse import TokenReuse
from writer.errors import EngineConfigError, EngineError
from writer.text.repetition import LOOP_CHECK_TOKENS, loop_start


def cpu_bind_list() -> str:
    """All CPUs this process may run on, as vLLM's VLLM_CPU_OMP_THREADS_BIND list ("0,1")."""
    return ",".join(str(c) for c in sorted(os.sched_getaffinity(0)))


def _memory_note(margin: float = 0.0) -> str:
    """On CPU: a note when free memory is under the KV cache vLLM reserves (VLLM_CPU_KVCACHE_SPACE GiB) plus
    `margin` GiB, else ""."""
    try:
        import psutil

        free = psutil.virtual_memory().available / 2**30
        kv = float(os.environ.get("VLLM_CPU_KVCACHE_SPACE") or 4)
    except (ImportError, ValueError):
        return ""
    if free >= kv + margin:
        return ""
    return (f"not enough free memory: {free:.1f} GiB available, and the engine's KV cache alone takes {kv:g} GiB "
            f"(VLLM_CPU_KVCACHE_SPACE); free memory or set VLLM_CPU_KVCACHE_SPACE lower")


def check_environment() -> None:
    """EngineConfigError for vLLM settings in the environment that vLLM itself rejects only after loading the
    model (VLLM_CPU_KVCACHE_SPACE=1.0 ends in "1 validation error for VllmConfig")."""
    kv = os.environ.get("VLLM_CPU_KVCACHE_SPACE")
    if kv is not None and not kv.strip().isdigit():
        raise EngineConfigError(f"VLLM_CPU_KVCACHE_SPACE must be a whole number of GiB, not {kv!r}")


def _reason(exc: BaseException) -> str:
    """One line on why vLLM refused: for a pydantic validation error (its first line is only "1 validation error
    for VllmConfig") the first error's own message."""
    errors = getattr(exc, "errors", None)
    if callable(errors):
        try:
            return str(errors()[0]["msg"]).splitlines()[0][:300]
        except Exception:  # noqa: BLE001 - not pydantic's shape: fall back to the first line
            pass
    return _first_line(exc)


def _first_line(exc: BaseException) -> str:
    return (str(exc).strip().splitlines() or [type(exc).__name__])[0][:300]


WATCH_SECONDS = 1.0  # how often the engine's processes are checked for death


def _resolve(future: Future, result) -> None:
    if not future.done():  # the watchdog may have failed it already
        future.set_result(result)


class _Stepper:
    """The thread that owns vLLM's engine loop: adds submitted requests, steps, resolves finished ones.

    Requests submitted with `watch_loops` are checked every LOOP_CHECK_TOKENS tokens while they
    generate; one that starts looping (`writer.text.repetition`) is aborted there and returned cut at
    the loop's start with finish_reason "loop", instead of spending tokens up to its limit.
    """

    def __init__(self, llm_engine, processes: set[int] = frozenset()):
        self.engine = llm_engine
        self.processes = set(processes)  # the engine's own processes (EngineCore, workers), watched for death
        self.dead: EngineError | None = None
        self.ids = itertools.count()
        self.cond = threading.Condition()
        self.submitted: list[tuple[str, dict, object, bool, Future]] = []
        self.running: dict[str, Future] = {}
        self.watched: dict[str, int] = {}  # request id -> tokens at its last loop check
        self.closed = False
        self.thread = threading.Thread(target=self._loop, name="vllm-stepper", daemon=True)
        self.thread.start()
        if self.processes:
            threading.Thread(target=self._watch, name="vllm-watchdog", daemon=True).start()

    def _watch(self) -> None:
        """Fail every caller when an engine process dies (kill -9, the OOM killer): vLLM's sync client then waits
        for its output forever, so `step()` would never return. The stepper thread stays blocked; it is a daemon."""
        while not self.closed:
            gone = sorted(pid for pid in self.processes if not alive(pid))
            if gone:
                self._die(EngineError(f"the vLLM engine process {gone[0]} died (killed, or out of memory)"))
                return
            time.sleep(WATCH_SECONDS)

    def _die(self, error: EngineError) -> None:
        with self.cond:
            self.dead = error
            futures = list(self.running.values()) + [item[-1] for item in self.submitted]
            self.running.clear()
            self.submitted.clear()
        for future in futures:
            if not future.done():
                future.set_exception(error)

    def submit(self, prompt: dict, params, watch_loops: bool = False) -> Future:
        """A future of (RequestOutput, cut) where cut is the character offset of a loop, or None."""
        future: Future = Future()
        with self.cond:
            if self.dead is not None:
                raise self.dead
            if self.closed:
                raise RuntimeError("the vLLM engine is closed")
            self.submitted.append((f"w{next(self.ids)}", prompt, params, watch_loops, future))
            self.cond.notify()
        return future

    def _loop(self) -> None:
        from vllm.sampling_params import RequestOutputKind

        while True:
            with self.cond:
                while not self.submitted and not self.running and not self.closed:
                    self.cond.wait()
                if self.closed:
                    break
                new, self.submitted = self.submitted, []
            for request_id, prompt, params, watch, future in new:
                params.output_kind = RequestOutputKind.CUMULATIVE if watch else RequestOutputKind.FINAL_ONLY
                try:
                    self.engine.add_request(request_id, prompt, params)
                    self.running[request_id] = future
                    if watch:
                        self.watched[request_id] = 0
                except Exception as exc:  # a bad request fails its caller only
                    future.set_exception(exc)
            if not self.running:
                continue
            try:
                outputs = self.engine.step()
            except BaseException as exc:  # the engine died: every waiting caller hears it
                for future in self.running.values():
                    future.set_exception(exc)
                self.running.clear()
                self.watched.clear()
                continue
            for out in outputs:
                rid = out.request_id
                if rid not in self.running:
                    continue
                if out.finished:
                    self.watched.pop(rid, None)
                    _resolve(self.running.pop(rid), (out, None))
                elif rid in self.watched and len(out.outputs[0].token_ids) - self.watched[rid] >= LOOP_CHECK_TOKENS:
                    self.watched[rid] = len(out.outputs[0].token_ids)
                    cut = loop_start(out.outputs[0].text)
                    if cut is not None:
                        self.engine.abort_request([rid])
                        self.watched.pop(rid)
                        _resolve(self.running.pop(rid), (out, cut))
        error = RuntimeError("the vLLM engine was closed")
        for future in list(self.running.values()) + [item[-1] for item in self.submitted]:
            future.set_exception(error)

    def close(self) -> None:
        with self.cond:
            self.closed = True
            self.cond.notify()
        self.thread.join(timeout=0 if self.dead is not None else 30)  # a dead engine's stepper never returns


class VLLMEngine(Engine):
    reports_logprobs = True
    name = "vllm"
    concurrent = True

    def __init__(
        self,
        model: str | None = None,
        max_model_len: int | None = None,
        enforce_eager: bool | None = None,
        seed: int = 0,
        **llm_kwargs,
    ):
        name = registered_name(model)  # the store records a registered model by name, not by its cache folder
        model, window = resolve(model)
        max_model_len = max_model_len or window
        os.environ.setdefault("VLLM_LOGGING_LEVEL", "ERROR")
        os.environ.setdefault("VLLM_CPU_KVCACHE_SPACE", "4")
        check_environment()
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
            # vLLM CPU 0.32 crashes the engine ("CPU Generator does not use offset") when a seeded request's
            # prompt is prefilled in chunks, which happens once a step's prompts pass its 4,096-token budget
            # (many instruction-synthesis requests at once). Whole-prompt prefill avoids it; 20 short requests
            # decoded at 31.4 tok/s with it against 32.3 without, within run-to-run noise here.
            llm_kwargs.setdefault("enable_chunked_prefill", False)
            # Without chunked prefill one engine step may prefill up to max_model_len prompt tokens of many
            # requests at once: 32,756 tokens of pairwise-judge prompts on the 1.5B took longer than vLLM's
            # 300 s step timeout on 2 cores and killed the engine. A step is slow here, not stuck (a stuck
            # engine is caught by the run's liveness watch), so the timeout is raised.
            os.environ.setdefault("VLLM_EXECUTE_MODEL_TIMEOUT_SECONDS", "3600")
            # The prefix cache serves prompts in whole blocks. The CPU default is 128 tokens, so a call sharing
            # 127 tokens with an earlier one (the chat template and instruction every call of a document
            # starts with) gets nothing from it. 32 is the smallest the CPU attention backend accepts (multiples of 32).
            llm_kwargs.setdefault("block_size", 32)
        # Compact JSON (no whitespace between tokens of structure), so a small model cannot loop on newlines
        # and indentation inside a plan until max_tokens. vLLM reads this from the engine's config only (the
        # per-request flag is ignored), and only for an explicitly chosen xgrammar or guidance backend.
        llm_kwargs.setdefault("structured_outputs_config", {"backend": "xgrammar", "disable_any_whitespace": True})
        if current_platform.is_cpu() and (short := _memory_note()):  # vLLM would find out after loading the model
            raise EngineError(f"the vLLM engine cannot start: {short}")
        self.segments = Segments().watch()  # vLLM's shared memory, freed at close (`shm.py`)
        before = set(descendants(os.getpid()))
        try:
            self.llm = vllm.LLM(model=model, max_model_len=max_model_len, enforce_eager=enforce_eager,
                                seed=seed, **llm_kwargs)
        except (OSError, ValueError) as exc:
            self.segments.free()
            raise EngineConfigError(f"vLLM cannot load model {model!r}: {_reason(exc)}") from None
        except Exception as exc:  # the engine process died starting (out of memory, a failed worker)
            self.segments.free()
            note = _memory_note(margin=1.0) if current_platform.is_cpu() else ""
            raise EngineError(f"the vLLM engine failed to start: {note or _first_line(exc)}") from exc
        self.segments.pause()
        self.model_id = name or model
        self.tokenizer = self.llm.get_tokenizer()
        self.reuse = TokenReuse(self.tokenizer)  # follow-ups get the ids the model generated, for its prefix cache
        self.context_window = int(self.llm.llm_engine.model_config.max_model_len)
        self.processes = set(descendants(os.getpid())) - before  # started by this engine, not by another one
        self.stepper = _Stepper(self.llm.llm_engine, self.processes)

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

        # compact JSON comes from the engine's structured_outputs_config (see __init__)
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
            bad_words=req.bad_words or None,
            logprobs=TOP_LOGPROBS if req.choices else None,
        )

    def generate(self, requests: list[ChatRequest]) -> list[Completion]:
        if not requests:
            return []
        prompts = []
        for req in requests:
            ids = self.render(req)
            if hasattr(ids, "input_ids"):  # a BatchEncoding on some tokenizers
                ids = ids["input_ids"]
            ids = self.reuse.ids_for(list(ids))
            if len(ids) >= self.context_window:
                raise EngineError(f"a prompt of {len(ids):,} tokens does not fit {self.model_id}'s "
                                  f"{self.context_window:,}-token context window")
            if len(ids) + req.max_tokens > self.context_window:
                req = req.model_copy(update={"max_tokens": max(1, self.context_window - len(ids))})
            prompts.append(({"prompt_token_ids": list(ids)}, self._params(req)))
        started = time.perf_counter()
        futures = [self.stepper.submit(p, s, req.stop_on_loop) for (p, s), req in zip(prompts, requests)]
        try:
            outputs = [f.result() for f in futures]
        except Exception as exc:  # the engine process died (crashed, killed, out of memory) or refused a request
            raise EngineError(f"the vLLM engine failed: {_first_line(exc)}") from exc
        seconds = time.perf_counter() - started
        results = []
        for (out, cut), req in zip(outputs, requests):
            choice = out.outputs[0]
            self.reuse.remember(out.prompt_token_ids or [], choice.token_ids)
            results.append(Completion(
                text=choice.text if cut is None else choice.text[:cut].rstrip(),
                prompt_tokens=len(out.prompt_token_ids or []),
                completion_tokens=len(choice.token_ids),
                cached_tokens=out.num_cached_tokens or 0,
                finish_reason=choice.finish_reason if cut is None else "loop",
                seconds=seconds,
                choice_logprobs=self._choice_logprobs(choice, req.choices),
            ))
        return results

    def _choice_logprobs(self, choice, choices: list[str]) -> dict[str, float]:
        """The choices' log-probabilities at the first generated token (vLLM's `logprobs`, by token id)."""
        if not choices or not choice.logprobs:
            return {}
        top = {}
        for token_id, entry in choice.logprobs[0].items():
            text = entry.decoded_token if entry.decoded_token is not None else self.tokenizer.decode([token_id])
            top[text] = max(top.get(text, -math.inf), entry.logprob)
        return score_choices(top, choices)

    def count_tokens(self, text: str) -> int:
        return len(self.tokenizer.encode(text, add_special_tokens=False))

    def close(self) -> None:
        llm = getattr(self, "llm", None)
        if llm is None:
            return
        stepper = getattr(self, "stepper", None)
        if stepper is not None:
            stepper.close()
        self.segments.scan()
        if stepper is None or stepper.dead is None:  # vLLM's shutdown would wait on a dead process
            shutdown = getattr(getattr(llm, "llm_engine", None), "engine_core", None)
            if shutdown is not None and hasattr(shutdown, "shutdown"):
                shutdown.shutdown()
        # What is still alive now is orphaned: the workers of a dead engine, or of one that died of the same Ctrl-C
        # just before this close, while vLLM's shutdown did not wait for them (bench/faults.py saw a VLLM::Worker).
        for pid in self.processes:
            if alive(pid):
                try:
                    os.kill(pid, signal.SIGKILL)
                except OSError:
                    pass
        self.llm = None
        self.segments.free()  # what vLLM's processes left in /dev/shm (else the resource tracker warns at exit)
