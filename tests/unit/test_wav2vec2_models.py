"""wav2vec2 model sources: HF-layout conversion, torchaudio bundles via the hub cache, clear errors."""

from __future__ import annotations

import json

import pytest
import torch
import torchaudio
from huggingface_hub import constants as hf_constants

from audiolab.core import cache
from audiolab.core.errors import AudioLabError, ModelUnavailableError
from audiolab.wav2vec2 import compute as w2v
from audiolab.wav2vec2 import hf as w2v_hf
from audiolab.wav2vec2 import models as w2v_models
from tests import signals
from tests.fixtures import wav2vec2_tiny as tiny

pytestmark = pytest.mark.usefixtures("fresh_wav2vec2_cache")


@pytest.fixture
def model_dir(tmp_path, monkeypatch):
    """``AUDIOLAB_MODEL_DIR`` pointing at an empty folder; tests write models into it."""
    folder = tmp_path / "models"
    folder.mkdir()
    monkeypatch.setenv(w2v_models.ENV_MODEL_DIR, str(folder))
    return folder


@pytest.fixture
def offline(monkeypatch, tmp_path):
    """No downloads, and empty torch hub / HF caches."""
    monkeypatch.setenv(w2v_models.ENV_OFFLINE, "1")
    monkeypatch.setenv("TORCH_HOME", str(tmp_path / "torch_home"))
    monkeypatch.setattr(hf_constants, "HF_HUB_CACHE", str(tmp_path / "hf_cache"))


def logits(model, x):
    with torch.no_grad():
        return model(x)[0]


@pytest.mark.parametrize(
    ("weights", "old_weight_norm", "variant"),
    [
        ("safetensors", False, {}),
        ("bin", True, {}),
        ("safetensors", False, {"mode": "layer_norm", "layer_norm_first": True}),
    ],
)
def test_an_hf_layout_checkpoint_gives_the_logits_of_the_torchaudio_model_with_the_same_weights(
    tmp_path, weights, old_weight_norm, variant
):
    reference = tiny.hf_model(3, **variant)
    folder = tiny.write_hf_folder(tmp_path / "m", reference, weights=weights, old_weight_norm=old_weight_norm,
                                  **variant)  # fmt: skip
    loaded = w2v_models.load_local("local:m", folder)
    x = signals.chirp(seconds=1.5)
    torch.testing.assert_close(logits(loaded.model, x), logits(reference, x), atol=1e-6, rtol=0)
    assert loaded.labels == tuple(tiny.hf_vocab()) and loaded.blank == 0 and loaded.delimiter == "|"
    assert loaded.normalize_eps == w2v_hf.HF_EPS and loaded.sample_rate == 16_000


@pytest.mark.parametrize("layout", ["preprocessor", "processor"])
def test_feature_extractor_settings_are_read_from_either_config_layout(model_dir, layout):
    # settings unlike the app's defaults (16 kHz, normalised): a fallback to them would show
    reference = tiny.hf_model(4)
    folder = tiny.write_hf_folder(model_dir / "m", reference, normalize=False, sampling_rate=8_000, layout=layout)
    assert (folder / "processor_config.json").is_file() == (layout == "processor")
    assert (folder / "preprocessor_config.json").is_file() == (layout == "preprocessor")
    loaded = w2v_models.load_model("local:m")
    assert loaded.sample_rate == 8_000 and loaded.normalize_eps is None
    x = 0.3 * signals.chirp(seconds=1.0, sample_rate=8_000)  # already at the model's rate: no resampling
    emission = w2v.emissions(x, 8_000, model_name="local:m").log_probs
    torch.testing.assert_close(emission, tiny.reference_log_probs(reference, x), atol=1e-5, rtol=0)


def test_the_newer_processor_config_wins_when_a_folder_has_both(tmp_path):
    folder = tiny.write_hf_folder(tmp_path / "m", tiny.hf_model(), normalize=True, sampling_rate=16_000)
    fe = {"do_normalize": False, "sampling_rate": 8_000}
    (folder / "processor_config.json").write_text(json.dumps({"feature_extractor": fe}))
    loaded = w2v_models.load_local("local:m", folder)
    assert loaded.sample_rate == 8_000 and loaded.normalize_eps is None


def test_hf_key_mapping_follows_torchaudios_importer_names():
    assert w2v_hf.rename_key("wav2vec2.encoder.layers.3.attention.k_proj.weight") == (
        "encoder.transformer.layers.3.attention.k_proj.weight"
    )
    assert (
        w2v_hf.rename_key("wav2vec2.feature_projection.projection.bias") == "encoder.feature_projection.projection.bias"
    )
    assert w2v_hf.rename_key("wav2vec2.encoder.pos_conv_embed.conv.weight_g") == (
        "encoder.transformer.pos_conv_embed.conv.parametrizations.weight.original0"
    )
    assert w2v_hf.rename_key("lm_head.weight") == "aux.weight"
    assert w2v_hf.rename_key("wav2vec2.masked_spec_embed") is None
    with pytest.raises(AudioLabError, match="not a wav2vec2"):
        w2v_hf.rename_key("bert.embeddings.word_embeddings.weight")


def test_unsupported_configs_are_refused_by_name(tmp_path):
    folder = tiny.write_hf_folder(tmp_path / "m", tiny.hf_model())
    config = json.loads((folder / "config.json").read_text())
    (folder / "config.json").write_text(json.dumps({**config, "model_type": "whisper"}))
    with pytest.raises(AudioLabError, match="model_type 'whisper' is not supported"):
        w2v_models.load_local("local:m", folder)


def test_corrupt_weights_give_a_clear_error(tmp_path):
    folder = tiny.write_hf_folder(tmp_path / "m", tiny.hf_model())
    (folder / "model.safetensors").write_bytes(b"not a safetensors file at all")
    with pytest.raises(AudioLabError, match="Could not read the weights"):
        w2v_models.load_local("local:m", folder)


def test_models_in_the_model_dir_are_listed_and_loaded_once_through_the_cache(model_dir):
    tiny.write_hf_folder(model_dir / "tiny-en", tiny.hf_model())
    (model_dir / "not-a-model").mkdir()
    names = [c.name for c in w2v_models.model_choices()]
    assert "local:tiny-en" in names and "local:not-a-model" not in names
    assert names[0] == "WAV2VEC2_ASR_BASE_960H"
    first = w2v_models.load_model("local:tiny-en")
    builds = cache.CACHE.builds
    assert w2v_models.load_model("local:tiny-en") is first and cache.CACHE.builds == builds
    assert w2v_models.describe("local:tiny-en") == {"layers": 2, "ctc": True}


def test_an_unknown_model_name_is_refused_with_the_choices():
    with pytest.raises(AudioLabError, match="Unknown model 'local:../../etc'.*WAV2VEC2_ASR_BASE_960H"):
        w2v_models.load_model("local:../../etc")


def test_a_bundle_loads_from_a_state_dict_placed_in_the_torch_hub_cache(tmp_path, monkeypatch):
    reference = tiny.build(5)
    bundle = tiny.bundle(normalize=True)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    monkeypatch.setenv(w2v_models.ENV_OFFLINE, "1")  # the file is there: no download is needed
    tiny.place_bundle(tmp_path, reference)
    monkeypatch.setattr(torchaudio.pipelines, "WAV2VEC2_ASR_BASE_960H", bundle)
    loaded = w2v_models.load_model("WAV2VEC2_ASR_BASE_960H")
    assert cache.CACHE.snapshot()[-1]["name"] == "WAV2VEC2_ASR_BASE_960H"
    x = signals.chirp(seconds=1.0)
    # fairseq's unused rows 1-3 are dropped: the head equals the model the file was made from
    torch.testing.assert_close(logits(loaded.model, x), logits(reference, x), atol=1e-6, rtol=0)
    assert loaded.labels == tiny.LABELS and loaded.normalize_eps == w2v_models.BUNDLE_EPS
    assert w2v_models.load_model("WAV2VEC2_ASR_BASE_960H") is loaded


def test_the_default_model_without_weights_says_which_model_where_it_looked_and_what_to_do(offline, tmp_path):
    with pytest.raises(ModelUnavailableError) as err:
        w2v_models.load_model("WAV2VEC2_ASR_BASE_960H")
    message = str(err.value)
    assert "WAV2VEC2_ASR_BASE_960H is not available" in message
    assert str(tmp_path / "torch_home" / "hub" / "checkpoints") in message
    assert "wav2vec2_fairseq_base_ls960_asr_ls960.pth" in message and "AUDIOLAB_OFFLINE" in message
    assert "internet access" in message


def test_a_hub_model_without_weights_names_the_hf_cache(offline, tmp_path):
    with pytest.raises(ModelUnavailableError, match="facebook/wav2vec2-base-960h is not available") as err:
        w2v_models.load_model("hf:facebook/wav2vec2-base-960h")
    assert str(tmp_path / "hf_cache") in str(err.value) and "AUDIOLAB_MODEL_DIR" in str(err.value)


def test_a_hub_model_is_read_from_the_hugging_face_cache_offline(offline, tmp_path, monkeypatch):
    reference = tiny.hf_model(7)
    tiny.place_hub_snapshot(tmp_path / "hf_cache", "tiny-org/tiny-w2v", reference)
    monkeypatch.setenv(w2v_models.ENV_HF_MODELS, "tiny-org/tiny-w2v, not a repo id")
    assert "hf:not a repo id" not in [c.name for c in w2v_models.model_choices()]
    loaded = w2v_models.load_model("hf:tiny-org/tiny-w2v")
    x = signals.sine(seconds=0.5)
    torch.testing.assert_close(logits(loaded.model, x), logits(reference, x), atol=1e-6, rtol=0)
    assert loaded.source == {"kind": "hf", "repo": "tiny-org/tiny-w2v", "weights": "model.safetensors"}


def test_the_network_probe_is_skipped_when_offline_is_set(monkeypatch):
    monkeypatch.setenv(w2v_models.ENV_OFFLINE, "1")
    assert w2v_models.offline_reason("download.pytorch.org") == "AUDIOLAB_OFFLINE is set"


def test_a_pretrained_only_bundle_gives_features_but_refuses_emissions(tmp_path, monkeypatch):
    bundle = tiny.bundle("tiny_base.pth", ctc=False)
    monkeypatch.setenv("TORCH_HOME", str(tmp_path))
    tiny.place_bundle(tmp_path, tiny.build(1, num_out=None), "tiny_base.pth")
    monkeypatch.setattr(torchaudio.pipelines, "WAV2VEC2_BASE", bundle)
    with pytest.raises(AudioLabError, match="WAV2VEC2_BASE is pre-trained only"):
        w2v.emissions(signals.sine(), 16_000, model_name="WAV2VEC2_BASE")
    lf = w2v.layer_features(signals.sine(), 16_000, model_name="WAV2VEC2_BASE", layer=2)
    assert lf.features.shape == (49, 32)
