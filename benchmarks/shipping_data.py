"""Inputs for the shipping benchmark, built here with no download.

* `image_crops`: square crops (random scale and position) and horizontal flips of
  scikit-learn's two bundled photographs (`sklearn.datasets.load_sample_images`),
  resized and normalised as EfficientNet-Lite expects (``(x - 127) / 128``, NCHW).
* `Tokenizer` / `sentences`: a seeded toy English (a ~150-word vocabulary and a small
  grammar) and a word-level tokenizer with BERT's special tokens, giving
  ``input_ids``/``attention_mask`` batches padded to their longest sentence.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np

LITE_MEAN, LITE_STD = 127.0, 128.0


def image_crops(count: int, size: int, seed: int) -> np.ndarray:
    """``count`` float32 crops of shape (3, size, size) from the two sample images."""
    import torch
    from sklearn.datasets import load_sample_images

    images = [
        torch.from_numpy(np.ascontiguousarray(img)).permute(2, 0, 1).float() for img in load_sample_images().images
    ]
    rng = np.random.default_rng(seed)
    crops = []
    for i in range(count):
        image = images[i % len(images)]
        height, width = image.shape[1:]
        side = int(min(height, width) * rng.uniform(0.3, 1.0))
        top, left = rng.integers(0, height - side + 1), rng.integers(0, width - side + 1)
        crop = image[:, top : top + side, left : left + side]
        if rng.random() < 0.5:
            crop = crop.flip(-1)
        resized = torch.nn.functional.interpolate(
            crop[None], size=(size, size), mode="bilinear", antialias=True, align_corners=False
        )[0]
        crops.append(((resized - LITE_MEAN) / LITE_STD).numpy())
    return np.stack(crops).astype(np.float32)


SPECIAL = ("[PAD]", "[UNK]", "[CLS]", "[SEP]")


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


DETERMINERS = _words("the a this that every some one no each my your our their")
ADJECTIVES = _words(
    "small large quiet bright old new green cold warm heavy light quick slow dark clear empty "
    "full strange simple early late soft loud wide narrow"
)
NOUNS = _words(
    "river city model engine tree house road window garden teacher student machine library "
    "bridge market mountain ship train letter camera table kitchen forest island storm signal "
    "number pattern question answer village station doctor painter record song"
)
VERBS = _words(
    "sees builds moves finds opens carries follows reads writes paints answers crosses watches "
    "measures changes keeps holds leaves sends counts"
)
ADVERBS = _words("slowly quickly again today often rarely never soon quietly carefully")
PREPOSITIONS = _words("near under above behind across inside beside through")
CONJUNCTIONS = _words("and but because while")
WORDS = (*DETERMINERS, *ADJECTIVES, *NOUNS, *VERBS, *ADVERBS, *PREPOSITIONS, *CONJUNCTIONS, ".")


class Tokenizer:
    """Word-level tokenizer over `WORDS` with ``[CLS] ... [SEP]`` framing and ``[PAD]`` padding."""

    def __init__(self, words: Sequence[str] = WORDS) -> None:
        self.vocab = {token: i for i, token in enumerate((*SPECIAL, *dict.fromkeys(words)))}

    def __len__(self) -> int:
        return len(self.vocab)

    def encode(self, text: str) -> list[int]:
        unknown = self.vocab["[UNK]"]
        tokens = text.lower().replace(".", " . ").split(" ")
        return [self.vocab["[CLS]"], *(self.vocab.get(t, unknown) for t in tokens), self.vocab["[SEP]"]]

    def batch(self, texts: Sequence[str], max_length: int) -> dict[str, np.ndarray]:
        """``input_ids`` and ``attention_mask`` (int64), padded to the longest text (at most ``max_length``)."""
        encoded = [self.encode(t)[:max_length] for t in texts]
        width = max(len(e) for e in encoded)
        ids = np.full((len(encoded), width), self.vocab["[PAD]"], np.int64)
        mask = np.zeros((len(encoded), width), np.int64)
        for row, tokens in enumerate(encoded):
            ids[row, : len(tokens)] = tokens
            mask[row, : len(tokens)] = 1
        return {"input_ids": ids, "attention_mask": mask}


def sentences(count: int, seed: int) -> list[str]:
    """``count`` texts of one to three sentences from a small grammar (4 to ~45 words)."""
    rng = np.random.default_rng(seed)

    def pick(words: Sequence[str]) -> str:
        return words[int(rng.integers(len(words)))]

    def noun_phrase() -> list[str]:
        return [pick(DETERMINERS), *(pick(ADJECTIVES) for _ in range(int(rng.integers(0, 3)))), pick(NOUNS)]

    def clause() -> list[str]:
        words = [*noun_phrase(), pick(VERBS)]
        if rng.random() < 0.8:
            words += noun_phrase()
        if rng.random() < 0.5:
            words += [pick(PREPOSITIONS), *noun_phrase()]
        if rng.random() < 0.3:
            words.append(pick(ADVERBS))
        return words

    texts = []
    for _ in range(count):
        parts: list[str] = []
        for _ in range(int(rng.integers(1, 4))):
            words = clause()
            if rng.random() < 0.3:
                words += [pick(CONJUNCTIONS), *clause()]
            parts.append(" ".join(words) + " .")
        texts.append(" ".join(parts))
    return texts
