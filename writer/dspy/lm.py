"""Our engines behind DSPy: every DSPy call goes through `CallRecorder`, so it is logged like any other call.

Two routes, chosen by `dspy_lm`:

- **In-process (any writer `Engine`)**: `dspy.LM("writer/<model>", engine=WriterDSPyEngine(...))`.
  DSPy 3.4's supported contract for a custom backend is an engine object with
  `complete(Request) -> Response` handed to `dspy.LM(engine=...)`; subclassing `BaseLM` with
  `forward()` still works in 3.4 but is deprecated and scheduled for removal in 3.5, so we do
  not build on it. The engine turns the canonical request into our `ChatRequest` (system and
  chat messages, max_tokens, temperature, top_p, stop, seed) and the `response_format` JSON
  schema into `ChatRequest.json_schema`, so vLLM's constrained decoding stays on.
- **A served vLLM** (the `openai` engine talking to a vLLM server):
  `dspy.LM("hosted_vllm/<model>", api_base=...)`, DSPy's own route, with a callback that
  stores each call in the same `calls` table.

Adapter: `WriterJSONAdapter`, a `dspy.JSONAdapter` (which sends the signature's output schema
as `response_format`) that can also bound a list's length per call. A JSONAdapter never falls
back to another adapter (ChatAdapter's fallback is the one that re-sends a failed call as
JSON), so one module call is one engine call; `ADAPTER` is built once here and used everywhere.

Import-time settings: `LITELLM_LOCAL_MODEL_COST_MAP=True` (LiteLLM would otherwise fetch
its cost map from the network) and `DSPY_CACHEDIR` under writer's cache dir, both set before
dspy is imported. DSPy's response cache is off for writer's LMs: a cache hit would skip the
store, and every call is stored.

Threads: `configure_dspy` runs once, in the main thread (dspy refuses `configure` from
another thread); workflow nodes and worker threads use `with dspy.context(lm=..., adapter=...)`,
which is thread-local (see `run_module`).
"""

from __future__ import annotations

import contextlib
import os
import threading
import time
from contextlib import contextmanager

from writer.config import cache_dir

os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")
os.environ.setdefault("DSPY_CACHEDIR", str(cache_dir() / "dspy"))

import dspy  # noqa: E402  (after the environment above)
import pydantic  # noqa: E402
from dspy.lm15 import Message as LMMessage  # noqa: E402
from dspy.lm15 import Response, TextPart, Usage  # noqa: E402

from writer.calls import CallRecorder  # noqa: E402
from writer.engines.base import ChatRequest, Completion, Message  # noqa: E402

__all__ = ["WriterDSPyEngine", "WriterJSONAdapter", "StoreCallback", "dspy_lm", "configure_dspy", "run_module", "ADAPTER",
           "DEFAULT_MAX_TOKENS"]

DEFAULT_MAX_TOKENS = 512


class WriterJSONAdapter(dspy.JSONAdapter):
    """`dspy.JSONAdapter` that can bound a list output's length in the schema, per call.

    DSPy builds the response schema from the output fields' types and drops constraints
    given on a field, so a module cannot say "at most k sections" where k depends on the
    input. A module passes `config={"list_bounds": {"sections": (1, k)}}`; this adapter
    takes that key out of the LM options (it never reaches the engine) and writes
    minItems/maxItems into the schema, as the AgentWrite planner does with its own schema.
    Everything else, parsing included, is JSONAdapter's, which never falls back to another
    adapter.
    """

    def _prepare_response_format(self, lm, lm_kwargs, signature):
        bounds = lm_kwargs.pop("list_bounds", None)
        super()._prepare_response_format(lm, lm_kwargs, signature)
        model = lm_kwargs.get("response_format")
        if not bounds or not (isinstance(model, type) and issubclass(model, pydantic.BaseModel)):
            return
        from dspy.clients.legacy_requests import _strict_json_schema

        schema = _strict_json_schema(model.model_json_schema())
        for name, (low, high) in bounds.items():
            prop = schema.get("properties", {}).get(name)
            if prop is not None and prop.get("type") == "array":
                prop["minItems"], prop["maxItems"] = int(low), int(high)
        lm_kwargs["response_format"] = {"type": "json_schema",
                                        "json_schema": {"name": model.__name__, "schema": schema, "strict": True}}


ADAPTER = WriterJSONAdapter()
_FINISH = {"stop": "stop", "length": "length", "abort": "error"}
_LOCKS: dict[int, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()


def _engine_lock(engine):
    """A lock for an engine that cannot take calls from two threads at once (a plugin engine without
    `concurrent`); none for the built-ins, which batch concurrent callers themselves."""
    if getattr(engine, "concurrent", False):
        return contextlib.nullcontext()
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(id(engine), threading.Lock())


def _text(content) -> str:
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    return "".join(getattr(p, "text", "") or "" for p in content)


class WriterDSPyEngine:
    """DSPy engine contract (`complete(Request) -> Response`) over a `CallRecorder`.

    Args:
        call: the recorder (engine + store + run id) every request goes through.
        stage: the stage name stored with each call ("plan", "judge:quality", ...).
        template: the prompt file the signature's instructions come from, stored with each call.
    """

    supports_response_schema = True
    supports_function_calling = False
    supports_reasoning = False
    supported_params = frozenset({"response_format", "temperature", "max_tokens", "top_p", "stop", "seed"})

    def __init__(self, call: CallRecorder, stage: str, template: str | None = None):
        self.call = call
        self.stage = stage
        self.template = template
        self.requests: list[ChatRequest] = []

    def to_chat_request(self, request) -> ChatRequest:
        """Our ChatRequest for a DSPy canonical request; the JSON schema becomes constrained decoding."""
        messages = []
        if request.system is not None:
            messages.append(Message(role="system", content=_text(request.system)))
        for m in request.messages:
            role = m.role if m.role in ("system", "user", "assistant") else "user"
            messages.append(Message(role=role, content=m.text or ""))
        cfg = request.config
        schema = None
        fmt = cfg.response_format
        if fmt is not None:
            schema = dict(fmt["schema"]) if fmt.get("type") == "json_schema" else {"type": "object"}
        options = {"max_tokens": cfg.max_tokens or DEFAULT_MAX_TOKENS, "json_schema": schema}
        if cfg.temperature is not None:
            options["temperature"] = cfg.temperature
        if cfg.top_p is not None and cfg.top_p > 0:
            options["top_p"] = cfg.top_p
        if cfg.stop:
            options["stop"] = list(cfg.stop)
        if cfg.seed is not None:
            options["seed"] = cfg.seed
        return ChatRequest(messages=messages, **options)

    def complete(self, request) -> Response:
        chat = self.to_chat_request(request)
        self.requests.append(chat)
        with _engine_lock(self.call.engine):
            completion = self.call(self.stage, [chat], template=self.template)[0]
        return Response(id=None, model=request.model, message=LMMessage.assistant([TextPart(completion.text)]),
                        finish_reason=_FINISH.get(completion.finish_reason or "stop", "stop"),
                        usage=Usage(input_tokens=completion.prompt_tokens, output_tokens=completion.completion_tokens))

    def stream(self, request):
        from dspy.lm15 import response_to_events

        return response_to_events(self.complete(request))

    def close(self) -> None:
        """The writer engine is borrowed; `writer.engines.close_engines` owns it."""


class StoreCallback(dspy.utils.callback.BaseCallback):
    """Logs the calls of a DSPy `hosted_vllm/` LM to the store, as `CallRecorder` does for our engines."""

    def __init__(self, call: CallRecorder, stage: str, template: str | None = None):
        self.call = call
        self.stage = stage
        self.template = template
        self._started: dict[str, tuple] = {}

    def on_lm_start(self, call_id, instance, inputs):
        kwargs = dict(inputs.get("kwargs") or {})
        messages = inputs.get("messages") or [{"role": "user", "content": str(inputs.get("prompt") or "")}]
        self._started[call_id] = (time.perf_counter(), messages, {**instance.kwargs, **kwargs}, instance)

    def on_lm_end(self, call_id, outputs, exception=None):
        started, messages, kwargs, lm = self._started.pop(call_id, (time.perf_counter(), [], {}, None))
        if exception is not None or self.call.store is None or not outputs:
            return
        text = outputs[0] if isinstance(outputs[0], str) else str(outputs[0].get("text", ""))
        fmt = kwargs.get("response_format")
        schema = fmt.model_json_schema() if hasattr(fmt, "model_json_schema") else None
        request = ChatRequest(
            messages=[Message(role=m["role"] if m["role"] in ("system", "user", "assistant") else "user",
                              content=_text(m.get("content"))) for m in messages],
            max_tokens=kwargs.get("max_tokens") or DEFAULT_MAX_TOKENS,
            temperature=kwargs.get("temperature") if kwargs.get("temperature") is not None else 0.7,
            json_schema=schema)
        engine = self.call.engine
        usage = (lm.history[-1].get("usage") or {}) if lm is not None and lm.history else {}
        prompt_tokens = usage.get("prompt_tokens") or usage.get("input_tokens") or 0
        completion_tokens = usage.get("completion_tokens") or usage.get("output_tokens") or engine.count_tokens(text)
        comp = Completion(text=text, prompt_tokens=prompt_tokens, completion_tokens=completion_tokens,
                          finish_reason="stop", seconds=time.perf_counter() - started)
        self.call.store.log_calls(self.call.run_id, self.stage, [request], [comp], engine=engine.name,
                                  model=engine.model_id, template=self.template)
        if self.call.on_call is not None:
            self.call.on_call(self.stage, [comp])


class HostedVLLM(dspy.LM):
    """DSPy's `hosted_vllm/` LM, stating what every vLLM server does: JSON-schema guided decoding.

    DSPy reads model capabilities from a metadata snapshot that cannot know an arbitrary
    served model id, and treats unknown as unsupported; the JSON adapter would then send no
    schema and constrained decoding would be off. Only the two capability properties are
    overridden; calls go through `dspy.LM`'s own execution path.
    """

    @property
    def supports_response_schema(self) -> bool:
        return True

    @property
    def supported_params(self) -> set[str]:
        return set(super().supported_params) | {"response_format"}


def _served_vllm(engine) -> bool:
    return engine.name == "openai" and bool(getattr(engine, "is_vllm", False)) and bool(getattr(engine, "base_url", None))


def dspy_lm(call: CallRecorder, stage: str, *, template: str | None = None, temperature: float = 0.0,
            max_tokens: int = DEFAULT_MAX_TOKENS, cache: bool = False) -> dspy.LM:
    """A DSPy LM whose calls run on `call.engine` and are stored under `stage`.

    A served vLLM (`--engine openai` against `vllm serve`) goes through DSPy's `hosted_vllm/`
    route; every other engine through `WriterDSPyEngine`.
    """
    engine = call.engine
    if _served_vllm(engine):
        key = getattr(getattr(engine, "client", None), "api_key", None) or "EMPTY"
        return HostedVLLM(f"hosted_vllm/{engine.model_id}", api_base=engine.base_url, api_key=key,
                          temperature=temperature, max_tokens=max_tokens, cache=cache, num_retries=2,
                          callbacks=[StoreCallback(call, stage, template)])
    return dspy.LM(f"writer/{engine.model_id or engine.name}", engine=WriterDSPyEngine(call, stage, template),
                   temperature=temperature, max_tokens=max_tokens, cache=cache, num_retries=0)


def configure_dspy(lm: dspy.LM | None = None) -> None:
    """Configure dspy from the main thread: the JSON adapter and (optionally) a default LM.

    dspy refuses `configure` from any thread but the one that configured it first, so off
    the main thread this does nothing: workers must use `dspy.context` (`run_module`).
    """
    if threading.current_thread() is not threading.main_thread():
        return
    settings = {"adapter": ADAPTER}
    if lm is not None:
        settings["lm"] = lm
    dspy.configure(**settings)


@contextmanager
def lm_context(lm: dspy.LM):
    """Thread-local DSPy settings for one piece of work: this LM, the JSON adapter."""
    with dspy.context(lm=lm, adapter=ADAPTER):
        yield


def run_module(module: dspy.Module, lm: dspy.LM, **inputs) -> dspy.Prediction:
    """Run a DSPy module on `lm` from any thread (LangGraph node, worker), without touching global settings."""
    with lm_context(lm):
        return module(**inputs)


def last_output(lm: dspy.LM) -> str | None:
    """The raw text of `lm`'s last call, when DSPy kept its history."""
    if lm.history:
        outputs = lm.history[-1].get("outputs") or []
        if outputs:
            first = outputs[0]
            return first if isinstance(first, str) else first.get("text")
    return None
