"""wav2vec2 inference: emissions, greedy CTC transcripts, forced alignment, layer features.

Audio is float32 ``(channel, time)`` plus its rate; it is mixed to mono, resampled to the
model's rate on the model's device and (for models that expect it) normalised over the
whole clip. Long audio runs in chunks with extra context on each side (attention memory
grows with the square of the length); chunk boundaries fall on the model's frame grid
(320 samples), so the stitched frames are exactly the frames of one pass over the audio.
Models come from :mod:`audiolab.wav2vec2.models` (the shared cache). Results are CPU tensors.
"""

from __future__ import annotations

import hashlib
import itertools
import math
import re
import string
import threading
import unicodedata
from collections import OrderedDict
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import torch
import torchaudio.functional as F

from audiolab.core import io as aio
from audiolab.core import limits
from audiolab.core.deadline import Deadline
from audiolab.core.errors import AudioLabError
from audiolab.wav2vec2 import batching
from audiolab.wav2vec2 import models as w2v_models
from audiolab.wav2vec2.models import W2VModel


@dataclass
class Emissions:
    """Frame-wise token log-probabilities, ``log_probs`` ``(frames, tokens)`` on the CPU."""

    log_probs: torch.Tensor
    labels: tuple[str, ...]
    blank: int
    delimiter: str | None
    seconds_per_frame: float
    duration_s: float
    model: str
    notes: list[str] = field(default_factory=list)


@dataclass
class Span:
    """A token (or word) between ``start`` and ``end`` frames (end exclusive), times in seconds."""

    text: str
    start: int
    end: int
    start_s: float
    end_s: float
    score: float = float("nan")
    chars: list[Span] = field(default_factory=list)

    def as_dict(self) -> dict:
        """JSON-ready fields (times rounded to ms)."""
        row = {"text": self.text, "start_s": round(self.start_s, 3), "end_s": round(self.end_s, 3),
               "start_frame": self.start, "end_frame": self.end}  # fmt: skip
        if not math.isnan(self.score):
            row["score"] = round(self.score, 4)
        if self.chars:
            row["chars"] = [c.as_dict() for c in self.chars]
        return row


# --- audio in ---------------------------------------------------------------------------------


def num_frames(num_samples: int, geometry: list[tuple[int, int]]) -> int:
    """Output frames of the convolutional feature extractor for ``num_samples`` input samples."""
    length = num_samples
    for kernel, stride in geometry:
        length = (length - kernel) // stride + 1
        if length <= 0:
            return 0
    return length


def receptive_field(geometry: list[tuple[int, int]]) -> tuple[int, int]:
    """``(stride, receptive field)`` of the extractor in samples (320 and 400 for wav2vec2)."""
    stride, field_ = 1, 1
    for kernel, s in geometry:
        field_ += (kernel - 1) * stride
        stride *= s
    return stride, field_


def prepare(waveform: torch.Tensor, sample_rate: int, model: W2VModel, *, max_seconds: float,
            notes: list[str]) -> torch.Tensor:  # fmt: skip
    """Mono ``(1, time)`` audio at the model's rate on its device, cut and normalised as needed."""
    aio.validate_waveform(waveform, sample_rate)
    if waveform.shape[0] > 1:
        waveform = waveform.mean(0, keepdim=True)
        notes.append("The channels were mixed to mono.")
    keep = int(max_seconds * sample_rate)
    if waveform.shape[-1] > keep:
        waveform = waveform[:, :keep]
        notes.append(f"Only the first {max_seconds:g} s were analysed (limit for this view).")
    waveform = aio.resample(waveform, sample_rate, model.sample_rate, notes).to(model.device)
    if sample_rate != model.sample_rate:
        notes.append(f"Resampled from {sample_rate} Hz to the model's {model.sample_rate} Hz.")
    _, field_ = receptive_field(model.geometry())
    if waveform.shape[-1] < field_:
        raise AudioLabError(
            f"The audio is {waveform.shape[-1] / model.sample_rate * 1000:.1f} ms long; {model.name} needs at "
            f"least {field_ / model.sample_rate * 1000:.0f} ms.",
            zh=(
                f"音频长 {waveform.shape[-1] / model.sample_rate * 1000:.1f} 毫秒；{model.name} 至少需要 "
                f"{field_ / model.sample_rate * 1000:.0f} 毫秒。"
            ),
        )
    if model.normalize_eps is not None:  # whole-clip statistics, the same for every chunk
        waveform = torch.nn.functional.layer_norm(waveform, waveform.shape, eps=model.normalize_eps)
    return waveform


# --- chunked inference ------------------------------------------------------------------------


def chunk_plan(num_samples: int, geometry: list[tuple[int, int]], *, chunk: int, context: int, reach: int = 0):
    """Chunks as ``(in_start, in_end, keep_from, keep_to, core_end)``: samples fed, frames kept of its
    output, and the sample where the audio it accounts for ends.

    ``chunk``/``context`` are in samples (rounded to the frame stride); the context is at least
    ``reach`` frames (the positional convolution's half width) plus the receptive field. Every
    chunk starts on the frame grid, so its frame ``j`` is frame ``in_start / stride + j`` of the clip.
    """
    stride, field_ = receptive_field(geometry)
    total = num_frames(num_samples, geometry)
    chunk = max(stride, round(chunk / stride) * stride)
    context = max(math.ceil(context / stride), reach + math.ceil((field_ - stride) / stride)) * stride
    if num_samples <= chunk + context:
        return [(0, num_samples, 0, total, num_samples)]
    count = math.ceil(num_samples / chunk)
    if num_samples - (count - 1) * chunk < chunk // 4:  # a short tail joins the last chunk
        count -= 1
    plan = []
    for k in range(count):
        core_start, core_end = k * chunk, (num_samples if k == count - 1 else (k + 1) * chunk)
        in_start, in_end = max(0, core_start - context), min(num_samples, core_end + context)
        first = core_start // stride
        last = total if k == count - 1 else core_end // stride
        plan.append((in_start, in_end, first - in_start // stride, last - in_start // stride, core_end))
    return plan


def check_chunking(chunk_s: object, context_s: object) -> tuple[float, float]:
    """Validated chunk length and context, in seconds."""
    chunk_s = limits.check_number("chunk length (s)", chunk_s, *limits.W2V_CHUNK_RANGE)
    return chunk_s, limits.check_number("chunk context (s)", context_s, *limits.W2V_CONTEXT_RANGE)


def run_chunked(fn: Callable[[torch.Tensor], list[torch.Tensor]], waveform: torch.Tensor, model: W2VModel, *,
                chunk_s: float, context_s: float, deadline: Deadline | None = None,
                notes: list[str] | None = None) -> Iterator[tuple[list[torch.Tensor], int]]:  # fmt: skip
    """Yield, per chunk, ``fn(chunk)``'s ``(1, frames, dim)`` outputs cut to the kept ``(frames, dim)``,
    and the sample where the audio covered so far ends. Past ``deadline`` the rest is skipped
    (with a note): the caller gets the start of the clip instead of an error."""
    chunk_s, context_s = check_chunking(chunk_s, context_s)
    rate = model.sample_rate
    plan = chunk_plan(waveform.shape[-1], model.geometry(), chunk=int(chunk_s * rate),
                      context=int(context_s * rate), reach=model.positional_reach())  # fmt: skip
    done = 0
    with torch.no_grad():
        for in_start, in_end, keep_from, keep_to, core_end in plan:
            if done and deadline is not None and deadline.elapsed > deadline.seconds:
                if notes is not None:
                    notes.append(
                        f"Only the first {done / rate:.1f} s were analysed: the {deadline.seconds:.0f} s time "
                        "budget of a request ran out (long audio is slow without a GPU)."
                    )
                return
            outputs = fn(waveform[:, in_start:in_end])
            if outputs[0].shape[1] < keep_to:
                raise RuntimeError(f"chunk gave {outputs[0].shape[1]} frames, {keep_to} expected")
            done = core_end
            yield [out[0, keep_from:keep_to] for out in outputs], core_end


# --- emissions and transcripts ----------------------------------------------------------------


def emissions(waveform: torch.Tensor, sample_rate: int, *, model_name: str = limits.W2V_DEFAULT_MODEL,
              chunk_s: float = limits.W2V_CHUNK_S, context_s: float = limits.W2V_CONTEXT_S) -> Emissions:  # fmt: skip
    """Token log-probabilities ``(frames, tokens)`` of a CTC model for ``(channel, time)`` audio."""
    chunk_s, context_s = check_chunking(chunk_s, context_s)
    model = w2v_models.require_ctc(w2v_models.load_model(model_name))
    key = _memo_key(waveform, sample_rate, model, chunk_s, context_s)
    hit = _memo_get(key)
    if hit is not None:
        return hit
    notes: list[str] = []
    x = prepare(waveform, sample_rate, model, max_seconds=limits.W2V_MAX_DURATION_S, notes=notes)
    frames = num_frames(x.shape[-1], model.geometry())
    if frames * len(model.labels) > limits.W2V_MAX_EMISSION_VALUES:
        longest = limits.W2V_MAX_EMISSION_VALUES / len(model.labels) * x.shape[-1] / frames / model.sample_rate
        raise AudioLabError(
            f"{model.name} has {len(model.labels)} tokens: the emission matrix of this clip would hold "
            f"{frames * len(model.labels):,} values; use at most {longest:.3g} s of audio.",
            zh=(
                f"{model.name} 有 {len(model.labels)} 个词元：此音频的发射矩阵将包含 {frames * len(model.labels):,} 个"
                f"值；请使用最多 {longest:.3g} 秒的音频。"
            ),
        )
    pieces, end, batcher = [], 0, batching.for_model(model)  # forward passes shared with concurrent requests
    for outs, covered in run_chunked(lambda c: [batcher.logits(c)], x, model, chunk_s=chunk_s,
                                     context_s=context_s, deadline=Deadline(), notes=notes):  # fmt: skip
        pieces.append(outs[0].float().cpu())
        end = covered
    log_probs = torch.log_softmax(torch.cat(pieces), dim=-1)
    seconds = end / model.sample_rate
    result = Emissions(log_probs, model.labels, model.blank, model.delimiter, seconds / log_probs.shape[0],
                       seconds, model.name, notes)  # fmt: skip
    if end == x.shape[-1]:  # complete results only
        _memo_put(key, result)
    return result


def greedy_spans(em: Emissions) -> list[Span]:
    """Best-path CTC decoding: argmax per frame, repeats merged, blanks dropped; one span per token."""
    ids = em.log_probs.argmax(dim=-1)
    values, counts = torch.unique_consecutive(ids, return_counts=True)
    spans, start = [], 0
    for value, count in zip(values.tolist(), counts.tolist(), strict=True):
        if value != em.blank:
            end = start + count
            score = em.log_probs[start:end, value].exp().mean().item()
            spans.append(Span(em.labels[value], start, end, start * em.seconds_per_frame,
                              end * em.seconds_per_frame, score))  # fmt: skip
        start += count
    return spans


def _is_special(label: str) -> bool:
    return len(label) > 1 and label.startswith("<") and label.endswith(">")


def transcript(spans: list[Span], delimiter: str | None) -> str:
    """The text of decoded spans: the word delimiter becomes a space, special tokens are dropped."""
    text = "".join(" " if s.text == delimiter else s.text for s in spans if not _is_special(s.text))
    return " ".join(text.split())


# --- forced alignment -------------------------------------------------------------------------

_CJK = "\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff"
_WORD = re.compile(rf"[{_CJK}]|[^\s{_CJK}]+")


def tokenize(text: str, em: Emissions) -> tuple[str, list[str], list[int], list[int]]:
    """Map ``text`` to the model's tokens: ``(clean text, words, token ids, word of each token)``.

    Case follows the vocabulary; punctuation it lacks becomes a space; other unknown characters
    are an error. Each CJK character is a word. The delimiter token (word -1) goes between
    words separated by spaces, so the tokens are those of ``clean.replace(" ", delimiter)``.
    """
    index = {label: i for i, label in enumerate(em.labels) if len(label) == 1 and i != em.blank}
    letters = "".join(k for k in index if k.isalpha() and k.lower() != k.upper())
    if letters and letters == letters.upper():
        text = text.upper()
    elif letters and letters == letters.lower():
        text = text.lower()
    text = "".join(c if c in index or not _is_punctuation(c) else " " for c in text)
    clean = " ".join(text.split())
    unknown = sorted({c for c in clean if c not in index and c != " "})
    if unknown:
        raise AudioLabError(
            f"These characters are not in the model's vocabulary: {' '.join(repr(c) for c in unknown[:20])}. "
            "Write numbers and symbols as words, or pick a model for this language.",
            zh=(
                f"这些字符不在模型的词表中：{' '.join(repr(c) for c in unknown[:20])}。请把数字和符号写成单词，或选择"
                "适合该语言的模型。"
            ),
        )
    words, ids, owner = [], [], []
    for match in _WORD.finditer(clean):
        if words and em.delimiter in index and clean[match.start() - 1] == " ":
            ids.append(index[em.delimiter])
            owner.append(-1)
        words.append(match.group())
        ids += [index[c] for c in match.group()]
        owner += [len(words) - 1] * len(match.group())
    return clean, words, ids, owner


def _is_punctuation(char: str) -> bool:
    return char in string.punctuation or unicodedata.category(char).startswith("P")


def align(em: Emissions, text: str) -> list[Span]:
    """Word spans (each with its character spans) of ``text`` in ``em``, by ``torchaudio.functional.forced_align``."""
    if len(text) > limits.W2V_MAX_TRANSCRIPT_CHARS:
        raise AudioLabError(
            f"The transcript has {len(text)} characters; the limit is {limits.W2V_MAX_TRANSCRIPT_CHARS}.",
            zh=f"文本有 {len(text)} 个字符；上限为 {limits.W2V_MAX_TRANSCRIPT_CHARS}。",
        )
    _, words, ids, owner = tokenize(text, em)
    if not ids:
        raise AudioLabError("There is nothing to align: the transcript is empty.", zh="没有可对齐的内容：文本为空。")
    repeats = sum(a == b for a, b in itertools.pairwise(ids))
    frames = em.log_probs.shape[0]
    if len(ids) + repeats > frames:
        raise AudioLabError(
            f"The transcript needs at least {len(ids) + repeats} frames but the audio has {frames} "
            f"({em.duration_s:.2f} s): shorten the transcript or use longer audio.",
            zh=(
                f"文本至少需要 {len(ids) + repeats} 帧，但音频只有 {frames} 帧（{em.duration_s:.2f} 秒）：请缩短文本或"
                "使用更长的音频。"
            ),
        )
    targets = torch.tensor([ids], dtype=torch.int32)
    path, scores = F.forced_align(em.log_probs[None].float(), targets, blank=em.blank)
    token_spans = F.merge_tokens(path[0], scores[0].exp(), blank=em.blank)
    return _group_words(em, words, owner, token_spans)


def _group_words(em: Emissions, words: list[str], owner: list[int], token_spans) -> list[Span]:
    spf = em.seconds_per_frame
    result = [Span(w, 0, 0, 0.0, 0.0) for w in words]
    for who, ts in zip(owner, token_spans, strict=True):
        if who >= 0:
            char = Span(em.labels[ts.token], ts.start, ts.end, ts.start * spf, ts.end * spf, float(ts.score))
            result[who].chars.append(char)
    for word in result:
        word.start, word.end = word.chars[0].start, word.chars[-1].end
        word.start_s, word.end_s = word.start * spf, word.end * spf
        lengths = [c.end - c.start for c in word.chars]
        word.score = sum(c.score * n for c, n in zip(word.chars, lengths, strict=True)) / sum(lengths)
    return result


# --- layer features ---------------------------------------------------------------------------


@dataclass
class LayerFeatures:
    """One transformer layer's output ``features`` ``(frames, dim)`` and a summary of all layers.

    ``similarity`` ``(layers, layers)``: mean over frames of the cosine similarity between two
    layers' feature vectors at the same frame. ``rms`` ``(layers,)``: root mean square value.
    """

    layer: int
    features: torch.Tensor
    similarity: torch.Tensor
    rms: torch.Tensor
    seconds_per_frame: float
    duration_s: float
    model: str
    notes: list[str] = field(default_factory=list)


def layer_features(waveform: torch.Tensor, sample_rate: int, *, model_name: str = limits.W2V_DEFAULT_MODEL,
                   layer: int = 1, chunk_s: float = limits.W2V_CHUNK_S,
                   context_s: float = limits.W2V_CONTEXT_S) -> LayerFeatures:  # fmt: skip
    """``model.extract_features`` output of transformer ``layer`` (1-based) plus per-layer summaries."""
    layer = int(limits.check_number("layer", layer, 1, limits.W2V_MAX_LAYERS, integer=True))
    chunk_s, context_s = check_chunking(chunk_s, context_s)
    model = w2v_models.load_model(model_name)
    if layer > model.num_layers:
        raise AudioLabError(
            f"layer={layer} is out of range: {model.name} has {model.num_layers} layers.",
            zh=f"layer={layer} 超出范围：{model.name} 只有 {model.num_layers} 层。",
        )
    notes: list[str] = []
    x = prepare(waveform, sample_rate, model, max_seconds=limits.W2V_FEATURES_MAX_S, notes=notes)
    n = model.num_layers
    sim, energy, frames, kept, end = torch.zeros(n, n), torch.zeros(n), 0, [], 0
    for outs, covered in run_chunked(lambda c: model.model.extract_features(c)[0], x, model, chunk_s=chunk_s,
                                     context_s=context_s, deadline=Deadline(), notes=notes):  # fmt: skip
        stack = torch.stack(outs).float()  # (layers, frames, dim)
        end = covered
        unit = torch.nn.functional.normalize(stack, dim=-1)
        sim += torch.einsum("itd,jtd->ij", unit, unit).cpu()
        energy += stack.pow(2).mean(-1).sum(-1).cpu()
        frames += stack.shape[1]
        kept.append(outs[layer - 1].float().cpu())
    seconds = end / model.sample_rate
    return LayerFeatures(layer, torch.cat(kept), sim / frames, (energy / frames).sqrt(), seconds / frames, seconds,
                         model.name, notes)  # fmt: skip


# --- a few recent emission matrices (so "Align" after "Run" does not recompute) ---------------

_MEMO: OrderedDict[tuple, Emissions] = OrderedDict()
_MEMO_LOCK = threading.Lock()


def _memo_key(waveform: torch.Tensor, sample_rate: int, model: W2VModel, chunk_s, context_s) -> tuple:
    digest = hashlib.blake2b(waveform.detach().cpu().contiguous().numpy().tobytes(), digest_size=16).hexdigest()
    return (digest, tuple(waveform.shape), sample_rate, model.name, id(model), float(chunk_s), float(context_s))


def _memo_get(key: tuple) -> Emissions | None:
    with _MEMO_LOCK:
        hit = _MEMO.get(key)
        if hit is not None:
            _MEMO.move_to_end(key)
        return hit


def _memo_put(key: tuple, value: Emissions) -> None:
    with _MEMO_LOCK:
        _MEMO[key] = value
        while len(_MEMO) > limits.W2V_RESULT_MEMO:
            _MEMO.popitem(last=False)
