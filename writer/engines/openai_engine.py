"""Engine for any OpenAI-compatible server: `vllm serve`, OpenAI, llama.cpp's server.

Requests of a batch go out concurrently (up to `concurrency` at once); the openai client
retries connection errors, 429s and 5xxs with exponential backoff. vLLM's extensions
(min_tokens, repetition_penalty, continuing a prefilled assistant message, /tokenize,
max_model_len) are used when the server is a vLLM server.
"""

from __future__ import annotations

import math
import time
from concurrent.futures import ThreadPoolExecutor

import httpx
import openai

from writer.engines.base import TOP_LOGPROBS, ChatRequest, Completion, Engine, score_choices
from writer.errors import EngineConfigError, EngineError
from writer.text.repetition import LOOP_CHECK_TOKENS, loop_start


def _choice_logprobs(choice, choices: list[str]) -> dict[str, float]:
    """The choices' log-probabilities at the reply's first token, from the server's `top_logprobs`."""
    content = getattr(getattr(choice, "logprobs", None), "content", None)
    if not choices or not content:
        return {}
    top: dict[str, float] = {}
    for alt in content[0].top_logprobs or []:
        top[alt.token] = max(top.get(alt.token, -math.inf), alt.logprob)
    return score_choices(top, choices)


class OpenAIEngine(Engine):
    reports_logprobs = True
    name = "openai"
    concurrent = True  # the server batches concurrent requests itself

    def __init__(
        self,
        base_url: str,
        model: str | None = None,
        api_key: str | None = None,
        concurrency: int = 8,
        max_retries: int = 4,
        timeout: float = 900.0,
    ):
        if not base_url:
            raise EngineConfigError("the openai engine needs --base-url (or WRITER_BASE_URL)")
        if concurrency < 1:
            raise EngineConfigError(f"concurrency must be >= 1, got {concurrency}")
        self.base_url = base_url.rstrip("/")
        self.concurrency = concurrency
        self.client = openai.OpenAI(base_url=self.base_url, api_key=api_key or "EMPTY",
                                    max_retries=max_retries, timeout=timeout)
        try:
            served = list(openai.OpenAI(base_url=self.base_url, api_key=api_key or "EMPTY",
                                        max_retries=1, timeout=15).models.list())
        except openai.APIConnectionError:
            raise EngineConfigError(f"cannot reach an OpenAI-compatible server at {self.base_url}") from None
        except openai.AuthenticationError:
            raise EngineConfigError(f"the server at {self.base_url} refused the API key") from None
        except openai.APIError as exc:
            raise EngineConfigError(f"the server at {self.base_url} answered {exc}") from None
        ids = [m.id for m in served]
        if model is None:
            if not ids:
                raise EngineConfigError(f"the server at {self.base_url} serves no model; pass --model")
            model = ids[0]
        self.model_id = model
        info = next((m for m in served if m.id == model), None)
        max_len = getattr(info, "max_model_len", None) if info is not None else None
        self.is_vllm = max_len is not None
        self.context_window = int(max_len) if max_len else 8192

    def generate(self, requests: list[ChatRequest]) -> list[Completion]:
        if not requests:
            return []
        with ThreadPoolExecutor(max_workers=min(self.concurrency, len(requests))) as pool:
            return list(pool.map(self._one, requests))

    def _one(self, req: ChatRequest) -> Completion:
        messages = [m.model_dump() for m in req.messages]
        extra: dict = {}
        if self.is_vllm:
            if req.min_tokens:
                extra["min_tokens"] = req.min_tokens
            if req.repetition_penalty != 1.0:
                extra["repetition_penalty"] = req.repetition_penalty
            if req.continue_final:
                extra.update(continue_final_message=True, add_generation_prompt=False)
            if req.bad_words:
                extra["bad_words"] = req.bad_words
        elif req.continue_final:
            # No prefill outside vLLM: ask for the continuation instead.
            prefix = messages.pop()["content"]
            messages.append({"role": "user", "content": "Continue this text from exactly where it stops, "
                             "without repeating it:\n\n" + prefix})
        kwargs: dict = dict(model=self.model_id, messages=messages, max_tokens=req.max_tokens,
                            temperature=req.temperature, top_p=req.top_p)
        if req.stop:
            kwargs["stop"] = req.stop
        if req.seed is not None:
            kwargs["seed"] = req.seed
        if req.choices:
            kwargs.update(logprobs=True, top_logprobs=TOP_LOGPROBS)
        if req.json_schema is not None:
            kwargs["response_format"] = {"type": "json_schema",
                                         "json_schema": {"name": "reply", "schema": req.json_schema}}
        if extra:
            kwargs["extra_body"] = extra
        started = time.perf_counter()
        try:
            if req.stop_on_loop:
                return self._watched(kwargs, started)
            resp = self.client.chat.completions.create(**kwargs)
        except (openai.APIConnectionError, httpx.HTTPError) as exc:  # unreachable, or a reply dropped midway
            cause = exc.__cause__ or exc
            raise EngineError(f"{self.base_url}: the server dropped the connection or cannot be reached "
                              f"({type(cause).__name__}: {cause})") from exc
        except openai.APIError as exc:
            raise EngineError(f"{self.base_url}: {exc}") from exc
        choice = resp.choices[0]
        usage = resp.usage
        return Completion(
            text=choice.message.content or "",
            prompt_tokens=usage.prompt_tokens if usage else 0,
            completion_tokens=usage.completion_tokens if usage else 0,
            cached_tokens=getattr(getattr(usage, "prompt_tokens_details", None), "cached_tokens", None) or 0,
            finish_reason=choice.finish_reason,
            seconds=time.perf_counter() - started,
            choice_logprobs=_choice_logprobs(choice, req.choices),
        )

    def _watched(self, kwargs: dict, started: float) -> Completion:
        """Stream one request, checking the text for a loop as it grows; stop reading at the first loop."""
        options = {"include_usage": True, **({"continuous_usage_stats": True} if self.is_vllm else {})}
        kwargs.setdefault("extra_body", {})["stream_options"] = options  # vLLM's extra key passes untouched
        stream = self.client.chat.completions.create(**kwargs, stream=True)
        parts: list[str] = []
        tokens, checked, usage, finish, cut = 0, 0, None, None, None
        try:
            for chunk in stream:
                usage = chunk.usage or usage
                for choice in chunk.choices:
                    if choice.delta.content:
                        parts.append(choice.delta.content)
                        tokens += 1  # a server sends about one token a chunk; usage, when sent, corrects it
                    finish = choice.finish_reason or finish
                if usage is not None:
                    tokens = max(tokens, usage.completion_tokens or 0)
                if tokens - checked >= LOOP_CHECK_TOKENS:
                    checked = tokens
                    cut = loop_start("".join(parts))
                    if cut is not None:
                        break
        finally:
            stream.close()  # on a loop: the server stops generating for a client that is gone
        text = "".join(parts)
        prompt = usage.prompt_tokens if usage is not None else self.count_tokens(
            "\n".join(m["content"] for m in kwargs["messages"]))
        cached = getattr(getattr(usage, "prompt_tokens_details", None), "cached_tokens", None) or 0
        return Completion(
            text=text if cut is None else text[:cut].rstrip(),
            prompt_tokens=prompt,
            completion_tokens=tokens,
            cached_tokens=cached,
            finish_reason=finish if cut is None else "loop",
            seconds=time.perf_counter() - started,
        )

    def count_tokens(self, text: str) -> int:
        if self.is_vllm:
            root = self.base_url.removesuffix("/v1")
            try:
                resp = httpx.post(f"{root}/tokenize", json={"model": self.model_id, "prompt": text,
                                                             "add_special_tokens": False}, timeout=30)
                resp.raise_for_status()
                return int(resp.json()["count"])
            except (httpx.HTTPError, KeyError, ValueError):
                pass
        return super().count_tokens(text)

    def close(self) -> None:
        self.client.close()
