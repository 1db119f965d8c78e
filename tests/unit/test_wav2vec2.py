"""wav2vec2 engine: emissions against torchaudio, greedy CTC and forced alignment with known
answers, chunked inference against one pass, layer features against ``extract_features``."""

from __future__ import annotations

import math

import pytest
import torch
import torchaudio.functional as F

from audiolab.core import limits
from audiolab.core.errors import AudioLabError
from audiolab.wav2vec2 import compute as w2v
from audiolab.wav2vec2 import models as w2v_models
from tests import signals
from tests.fixtures import wav2vec2_tiny as tiny

LABELS = ("-", "|", "A", "B", "C", "T", "L")


pytestmark = pytest.mark.usefixtures("fresh_wav2vec2_cache")


def hand_made(path: list[int], labels=LABELS, p: float = 0.9) -> w2v.Emissions:
    """Emissions whose most likely token at frame ``t`` is ``path[t]`` (probability ``p``)."""
    probs = torch.full((len(path), len(labels)), (1 - p) / (len(labels) - 1))
    probs[torch.arange(len(path)), torch.tensor(path)] = p
    return w2v.Emissions(probs.log(), labels, 0, "|", 0.02, 0.02 * len(path), "hand-made")


def test_greedy_decoding_merges_repeats_drops_blanks_and_keeps_repeats_split_by_a_blank():
    em = hand_made([0, 2, 2, 0, 2, 3, 1, 3, 3, 0])  # - A A - A B | B B -
    spans = w2v.greedy_spans(em)
    assert [(s.text, s.start, s.end) for s in spans] == [
        ("A", 1, 3),
        ("A", 4, 5),
        ("B", 5, 6),
        ("|", 6, 7),
        ("B", 7, 9),
    ]
    assert w2v.transcript(spans, "|") == "AAB B"
    assert spans[0].start_s == pytest.approx(0.02) and spans[0].score == pytest.approx(0.9)


def test_greedy_transcripts_drop_special_tokens():
    labels = ("<pad>", "<s>", "</s>", "<unk>", "|", "A")
    em = w2v.Emissions(hand_made([1, 5, 4, 3, 5, 2], labels).log_probs, labels, 0, "|", 0.02, 0.12, "x")
    assert w2v.transcript(w2v.greedy_spans(em), "|") == "A A"


def test_forced_alignment_finds_the_designed_path_with_word_and_character_times():
    #       -  C  C  A  -  -  |  T  T  |  C  A  T  T  -
    path = [0, 4, 4, 2, 0, 0, 1, 5, 5, 1, 4, 2, 5, 5, 0]
    words = w2v.align(hand_made(path), "ca t, cat!")  # case and punctuation follow the vocabulary
    assert [w.text for w in words] == ["CA", "T", "CAT"]
    assert [(c.text, c.start, c.end) for c in words[0].chars] == [("C", 1, 3), ("A", 3, 4)]
    assert [(w.start, w.end) for w in words] == [(1, 4), (7, 9), (10, 14)]
    assert words[2].start_s == pytest.approx(0.2) and words[2].end_s == pytest.approx(0.28)
    assert words[0].score == pytest.approx(0.9, abs=1e-5)


def test_forced_alignment_of_a_doubled_letter_needs_a_blank_between():
    path = [0, 6, 0, 6, 0]  # - L - L -
    words = w2v.align(hand_made(path), "LL")
    assert [(c.start, c.end) for c in words[0].chars] == [(1, 2), (3, 4)]
    with pytest.raises(AudioLabError, match="needs at least 3 frames but the audio has 2"):
        w2v.align(hand_made([0, 6]), "LL")


def test_forced_alignment_matches_torchaudio_on_random_emissions():
    torch.manual_seed(0)
    em = w2v.Emissions(torch.randn(60, len(LABELS)).log_softmax(-1), LABELS, 0, "|", 0.02, 1.2, "random")
    words = w2v.align(em, "cab tab")
    ref_path, ref_scores = F.forced_align(em.log_probs[None], torch.tensor([[4, 2, 3, 1, 5, 2, 3]], dtype=torch.int32))
    ref = F.merge_tokens(ref_path[0], ref_scores[0].exp())
    chars = [c for w in words for c in w.chars]
    assert [(c.start, c.end) for c in chars] == [(s.start, s.end) for i, s in enumerate(ref) if i != 3]


def test_tokenize_reports_characters_missing_from_the_vocabulary():
    with pytest.raises(AudioLabError, match=r"not in the model's vocabulary: '1' '2'"):
        w2v.tokenize("cat 12", hand_made([0]))


def test_chinese_characters_are_words_and_spaces_alone_insert_the_delimiter():
    labels = ("<pad>", "|", "你", "好", "世", "界")
    em = w2v.Emissions(torch.zeros(20, 6), labels, 0, "|", 0.02, 0.4, "zh")
    clean, words, ids, owner = w2v.tokenize("你好，世界", em)
    assert clean == "你好 世界" and words == ["你", "好", "世", "界"]
    assert ids == [2, 3, 1, 4, 5] and owner == [0, 1, -1, 2, 3]


def test_emissions_equal_torchaudio_log_softmax_of_the_model_on_each_device(tiny_en, device):
    x = signals.chirp(seconds=2.0)
    em = w2v.emissions(x, 16_000, model_name="local:tiny-en")
    ref = tiny.reference_log_probs(tiny_en, x, eps=1e-7)
    atol = 1e-5 if device == "cpu" else 3e-3  # TF32 convolutions on CUDA
    torch.testing.assert_close(em.log_probs, ref, atol=atol, rtol=0)
    assert em.log_probs.device.type == "cpu" and em.seconds_per_frame == pytest.approx(2.0 / ref.shape[0])


def test_audio_is_mixed_to_mono_and_resampled_to_the_model_rate(tiny_en):
    stereo = torch.cat([signals.chirp(200, 3000, 22_050, 1.5), signals.sine(440, 22_050, 1.5)])
    em = w2v.emissions(stereo, 22_050, model_name="local:tiny-en")
    mono = F.resample(stereo.mean(0, keepdim=True), 22_050, 16_000)
    ref = tiny.reference_log_probs(tiny_en, mono, eps=1e-7)
    torch.testing.assert_close(em.log_probs, ref, atol=2e-4, rtol=0)  # transforms.Resample vs functional: 7e-6
    assert any("mono" in n for n in em.notes) and any("22050 Hz" in n for n in em.notes)


def test_chunk_plans_keep_every_frame_once_and_start_on_the_frame_grid():
    geometry = [(k, s) for _, k, s in tiny.CONVS]
    for samples in (400, 16_000, 100_003, 16_000 * 13 + 77, 16_000 * 41):
        plan = w2v.chunk_plan(samples, geometry, chunk=64_000, context=16_000, reach=8)
        total = w2v.num_frames(samples, geometry)
        kept = [in_start // 320 + f for in_start, _, a, b, _ in plan for f in range(a, b)]
        assert kept == list(range(total)) and plan[-1][-1] == samples
        assert all(in_start % 320 == 0 for in_start, *_ in plan)
        assert all(b <= w2v.num_frames(end - start, geometry) for start, end, _, b, _ in plan)


def test_chunked_emissions_equal_one_pass_when_the_context_covers_what_the_model_sees(tmp_path, monkeypatch):
    # no attention layers: each frame sees the receptive field and the positional convolution,
    # so chunks with enough context must reproduce the single pass exactly
    monkeypatch.setenv(w2v_models.ENV_MODEL_DIR, str(tmp_path))
    tiny.write_hf_folder(tmp_path / "local", tiny.hf_model(2, mode="layer_norm", layers=0), normalize=False,
                         mode="layer_norm", layers=0)  # fmt: skip
    x = signals.white_noise(seconds=13.3, amp=0.2) + signals.chirp(seconds=13.3)
    one = w2v.emissions(x, 16_000, model_name="local:local", chunk_s=60)
    chunked = w2v.emissions(x, 16_000, model_name="local:local", chunk_s=4, context_s=1)
    torch.testing.assert_close(chunked.log_probs, one.log_probs, atol=5e-5, rtol=0)
    assert w2v.transcript(w2v.greedy_spans(chunked), "|") == w2v.transcript(w2v.greedy_spans(one), "|")


def test_chunked_emissions_of_a_model_with_attention_stay_close_to_one_pass(tiny_en):
    x = signals.white_noise(seconds=12.0, amp=0.2, seed=3) + signals.chirp(seconds=12.0)
    one = w2v.emissions(x, 16_000, model_name="local:tiny-en", chunk_s=60)
    chunked = w2v.emissions(x, 16_000, model_name="local:tiny-en", chunk_s=4, context_s=2)
    assert chunked.log_probs.shape == one.log_probs.shape
    agree = (chunked.log_probs.argmax(-1) == one.log_probs.argmax(-1)).float().mean().item()
    # measured 0.90 for this random 2-layer model (its attention is global); frames stitched one
    # frame off would agree 0.51
    assert agree > 0.85


def test_a_repeated_request_reuses_the_emissions():
    em = hand_made([0, 2])
    key = ("k",)
    w2v._memo_put(key, em)
    assert w2v._memo_get(key) is em
    for i in range(limits.W2V_RESULT_MEMO):
        w2v._memo_put((i,), em)
    assert w2v._memo_get(key) is None


def test_layer_features_match_extract_features_and_summaries_follow_their_formulas(tiny_en):
    x = signals.chirp(seconds=1.5)
    lf = w2v.layer_features(x, 16_000, model_name="local:tiny-en", layer=2)
    norm = torch.nn.functional.layer_norm(x, x.shape, eps=1e-7)
    with torch.no_grad():
        ref = [f[0] for f in tiny_en.extract_features(norm)[0]]
    torch.testing.assert_close(lf.features, ref[1], atol=1e-5, rtol=0)
    rms = torch.stack([f.pow(2).mean().sqrt() for f in ref])
    torch.testing.assert_close(lf.rms, rms, atol=1e-5, rtol=1e-5)
    cos = torch.nn.functional.cosine_similarity(ref[0], ref[1], dim=-1).mean()
    assert lf.similarity[0, 1].item() == pytest.approx(cos.item(), abs=1e-5)
    assert lf.similarity[1, 1].item() == pytest.approx(1.0, abs=1e-5)


def test_bad_requests_are_refused_before_inference(tiny_en, monkeypatch):
    with pytest.raises(AudioLabError, match="needs at least 25 ms"):
        w2v.emissions(torch.zeros(1, 200), 16_000, model_name="local:tiny-en")
    with pytest.raises(AudioLabError, match="layer=3 is out of range: local:tiny-en has 2 layers"):
        w2v.layer_features(signals.sine(), 16_000, model_name="local:tiny-en", layer=3)
    with pytest.raises(AudioLabError, match="chunk length"):
        w2v.emissions(signals.sine(), 16_000, model_name="local:tiny-en", chunk_s=0.5)
    monkeypatch.setattr(limits, "W2V_MAX_EMISSION_VALUES", 500)
    with pytest.raises(AudioLabError, match=r"would hold 2,682 values; use at most 0\.55\d s of audio"):
        w2v.emissions(signals.sine(seconds=3.0), 16_000, model_name="local:tiny-en")


def test_alignment_after_emissions_gives_ordered_words_inside_the_clip(tiny_en):
    em = w2v.emissions(signals.chirp(seconds=2.0), 16_000, model_name="local:tiny-en")
    words = w2v.align(em, "the heat is on")
    assert [w.text for w in words] == ["THE", "HEAT", "IS", "ON"]
    ends = [t for w in words for t in (w.start_s, w.end_s)]
    assert ends == sorted(ends) and ends[0] >= 0 and ends[-1] <= em.duration_s + 1e-9
    assert all(0 < w.score <= 1 and not math.isnan(w.score) for w in words)


def test_past_the_time_budget_the_start_of_the_clip_is_returned_with_a_note(tiny_en, monkeypatch):
    x = signals.chirp(seconds=13.0)
    full = w2v.emissions(x, 16_000, model_name="local:tiny-en", chunk_s=4, context_s=2)
    w2v._MEMO.clear()
    monkeypatch.setattr(limits, "REQUEST_BUDGET_S", 0.0)  # spent after the first chunk
    part = w2v.emissions(x, 16_000, model_name="local:tiny-en", chunk_s=4, context_s=2)
    assert part.log_probs.shape[0] == 200 and part.duration_s == 4.0  # 4 s at 50 frames per second
    torch.testing.assert_close(part.log_probs, full.log_probs[:200])
    assert any("Only the first 4.0 s were analysed" in n for n in part.notes) and not w2v._MEMO
    lf = w2v.layer_features(x, 16_000, model_name="local:tiny-en", layer=1, chunk_s=4, context_s=2)
    assert lf.features.shape[0] == 200 and any("time budget" in n for n in lf.notes)
