"""The torchaudio code behind the wav2vec2 tab, as text for its "Code" panel.

Each snippet runs as is once the audio file exists (and the model's weights can be found or
downloaded); the tests execute them and compare with the app's results. The app runs audio
longer than the chunk length in overlapping chunks; the snippets show the single pass.
"""

from __future__ import annotations

from audiolab.core import limits
from audiolab.wav2vec2 import hf as w2v_hf
from audiolab.wav2vec2.models import W2VModel

_RENAME = f"""\
# Hugging Face names -> torchaudio names (as torchaudio's import_huggingface_model maps them)
RENAMES = [
{"".join(f"    {(old, new)!r},{chr(10)}" for old, new in w2v_hf.HF_RENAMES if old != new)}]


def rename(key):
    key = key.removeprefix("wav2vec2.").removeprefix("hubert.")
    for old, new in RENAMES:
        if key.startswith(old):
            key = new + key[len(old) :]
            break
    return key.replace(".weight_g", ".parametrizations.weight.original0").replace(
        ".weight_v", ".parametrizations.weight.original1"
    )

"""


def _params_literal(params: dict) -> str:
    lines = [f"    {k!r}: {v!r}," for k, v in params.items()]
    return "params = {\n" + "\n".join(lines) + "\n}\n"


def _hf_model_code(model: W2VModel) -> str:
    src = model.source
    weights = src.get("weights", "model.safetensors")
    if src.get("kind") == "hf":
        head = f"from huggingface_hub import hf_hub_download\n\nrepo = {src['repo']!r}\n\n\ndef path(name):\n"
        head += "    return hf_hub_download(repo, name)  # downloads once, then reads the cache\n"
    else:
        head = f'folder = {src.get("folder", ".")!r}\n\n\ndef path(name):\n    return f"{{folder}}/{{name}}"\n'
    load = (
        f'state = load_file(path("{weights}"))'
        if weights.endswith(".safetensors")
        else f'state = torch.load(path("{weights}"), map_location="cpu", weights_only=True)'
    )
    return (
        "import json\n\nimport torch\nimport torchaudio\nfrom safetensors.torch import load_file\n\n"
        + head
        + "\n\n"
        + _RENAME
        + "\n"
        + _params_literal(model.params)
        + f"model = torchaudio.models.wav2vec2_model(**params)\n{load}\n"
        + "renamed = {rename(k): v for k, v in state.items()}\n"
        + "model.load_state_dict({k: v for k, v in renamed.items() if k in model.state_dict()})\n"
        + 'device = torch.device("cuda" if torch.cuda.is_available() else "cpu")\n'
        + "model = model.eval().to(device)\n"
        + 'vocab = json.load(open(path("vocab.json"), encoding="utf-8"))\n'
        + "labels = sorted(vocab, key=vocab.get)  # token id -> text\n"
        + f"blank = {model.blank}  # the CTC blank (the pad token)\nmodel_rate = {model.sample_rate}\n"
    )


def model_code(model: W2VModel) -> str:
    """Code that defines ``model`` (on ``device``), ``labels``, ``blank`` and ``model_rate``."""
    if model.source.get("kind") != "bundle":
        return _hf_model_code(model)
    labels = "labels = bundle.get_labels()  # blank is labels[0]\n" if model.has_ctc else ""
    return (
        "import torch\nimport torchaudio\n\n"
        'device = torch.device("cuda" if torch.cuda.is_available() else "cpu")\n'
        f"bundle = torchaudio.pipelines.{model.name}\n"
        "model = bundle.get_model().to(device)  # weights download once into torch.hub.get_dir()\n"
        f"{labels}blank = 0\nmodel_rate = int(bundle.sample_rate)\n"
    )


def audio_code(path: str, model: W2VModel, *, max_seconds: float) -> str:
    """Code that loads ``path`` as mono ``waveform`` ``(1, time)`` at ``model_rate`` on ``device``."""
    code = (
        f"\nwaveform, sample_rate = torchaudio.load({path!r})\n"
        f"waveform = waveform[:, : int({max_seconds:g} * sample_rate)]  # the app's limit for this view\n"
        "waveform = waveform.mean(0, keepdim=True).to(device)  # mono, (1, time)\n"
        "if sample_rate != model_rate:  # resample on the device\n"
        "    waveform = torchaudio.functional.resample(waveform, sample_rate, model_rate).clamp(-1, 1)\n"
    )
    if model.source.get("kind") != "bundle" and model.normalize_eps is not None:
        code += f"waveform = (waveform - waveform.mean()) / torch.sqrt(waveform.var(unbiased=False) + {model.normalize_eps:g})\n"  # noqa: E501
    return code


_EMISSION = """
with torch.no_grad():
    emission, _ = model(waveform)
emission = torch.log_softmax(emission, dim=-1).cpu()  # (1, frames, tokens)
seconds_per_frame = waveform.shape[1] / emission.shape[1] / model_rate

# greedy CTC decoding: best token per frame, repeats merged, blanks removed
best = torch.unique_consecutive(emission[0].argmax(dim=-1)).tolist()
text = "".join(labels[i] for i in best if i != blank and not (labels[i].startswith("<") and len(labels[i]) > 1))
transcript = " ".join(text.replace({delimiter!r}, " ").split())
print(transcript)
"""

_PLOT = """
from matplotlib.figure import Figure

fig = Figure(figsize=(10, 4))
ax = fig.add_subplot()
ax.imshow(emission[0].T, aspect="auto", interpolation="nearest",
          extent=(0, emission.shape[1] * seconds_per_frame, len(labels) - 0.5, -0.5))
ax.set(xlabel="Time (s)", ylabel="Token", yticks=range(len(labels)), yticklabels=labels, title=transcript)
fig.savefig("emission.png")
"""


def emissions_code(path: str, model: W2VModel) -> str:
    """Code for the emission matrix ``emission`` ``(1, frames, tokens)`` and the greedy ``transcript``."""
    return (
        model_code(model)
        + audio_code(path, model, max_seconds=limits.W2V_MAX_DURATION_S)
        + _EMISSION.format(delimiter=model.delimiter or "|")
        + _PLOT
    )


def align_code(path: str, model: W2VModel, clean_text: str) -> str:
    """Code that force-aligns ``clean_text`` (already in the model's alphabet); ends with ``spans``."""
    sep = f".replace(' ', {model.delimiter!r})" if model.delimiter else ".replace(' ', '')"
    return (
        model_code(model)
        + audio_code(path, model, max_seconds=limits.W2V_MAX_DURATION_S)
        + _EMISSION.format(delimiter=model.delimiter or "|")
        + f"\ntext = {clean_text!r}  # in the model's alphabet, punctuation removed\n"
        + "dictionary = {label: i for i, label in enumerate(labels)}\n"
        + f"targets = torch.tensor([[dictionary[c] for c in text{sep}]], dtype=torch.int32)\n"
        + "alignment, scores = torchaudio.functional.forced_align(emission, targets, blank=blank)\n"
        + "spans = torchaudio.functional.merge_tokens(alignment[0], scores[0].exp(), blank=blank)\n"
        + "for span in spans:  # one per target token; times in seconds\n"
        + "    print(labels[span.token], span.start * seconds_per_frame, span.end * seconds_per_frame, span.score)\n"
    )


def features_code(path: str, model: W2VModel, layer: int) -> str:
    """Code for ``features`` (a list, one ``(1, frames, dim)`` tensor per layer) and ``chosen``."""
    return (
        model_code(model)
        + audio_code(path, model, max_seconds=limits.W2V_FEATURES_MAX_S)
        + "\nwith torch.no_grad():\n    features, _ = model.extract_features(waveform)\n"
        + f"chosen = features[{layer - 1}][0].cpu()  # transformer layer {layer}, (frames, dim)\n"
        + "print(len(features), 'layers;', tuple(chosen.shape))\n"
    )
