"""Token reuse: a follow-up prompt gets the ids the model generated for text it repeats."""

from writer.engines.token_reuse import TokenReuse


class PairTokenizer:
    """Characters as ids, plus one id for each pair in PAIRS; `encode` takes pairs greedily, as a BPE merges,
    so "ab" encodes as one id while a model may have generated it as "a", "b"."""

    PAIRS = ["ab", "cd", "<>"]

    def __init__(self):
        self.vocab = [chr(c) for c in range(32, 127)] + ["\n"] + self.PAIRS
        self.index = {t: i for i, t in enumerate(self.vocab)}

    def encode(self, text, add_special_tokens=False):
        ids, i = [], 0
        while i < len(text):
            if text[i:i + 2] in self.index:
                ids.append(self.index[text[i:i + 2]])
                i += 2
            else:
                ids.append(self.index[text[i]])
                i += 1
        return ids

    def decode(self, ids, skip_special_tokens=False, clean_up_tokenization_spaces=False):
        return "".join(self.vocab[i] for i in ids)


def test_a_follow_up_gets_the_generated_ids_for_the_text_it_repeats():
    tok = PairTokenizer()
    reuse = TokenReuse(tok)
    prompt = tok.encode("<>user: write x<>assistant: ")
    generated = [tok.index[c] for c in "ab cd ab."]  # the model's own, non-canonical ids for "ab cd ab."
    reuse.remember(prompt, generated)

    follow_up = tok.encode("<>user: write x<>assistant: ab cd ab.<>user: longer<>assistant: ")
    assert follow_up[len(prompt):len(prompt) + 3] != generated[:3]  # re-tokenizing the text gives other ids
    spliced = reuse.ids_for(follow_up)
    assert spliced[:len(prompt) + len(generated)] == prompt + generated
    assert tok.decode(spliced) == tok.decode(follow_up)

    # a prompt sharing only part of the draft gets the generated ids for that part
    half = tok.encode("<>user: write x<>assistant: ab cd<>user: rewrite<>assistant: ")
    spliced = reuse.ids_for(half)
    assert spliced[:len(prompt) + 5] == prompt + generated[:5] and tok.decode(spliced) == tok.decode(half)


def test_prompts_sharing_nothing_generated_are_left_as_rendered():
    tok = PairTokenizer()
    reuse = TokenReuse(tok)
    reuse.remember(tok.encode("<>user: write x<>assistant: "), [tok.index[c] for c in "ab cd"])
    other = tok.encode("<>user: write y<>assistant: ab cd")
    assert reuse.ids_for(other) == other  # another prompt: its draft is not this one's
    again = tok.encode("<>user: write x<>assistant: ")
    assert reuse.ids_for(again) == again  # the prompt alone: already the same ids
    assert TokenReuse(tok).ids_for(again) == again  # nothing remembered
