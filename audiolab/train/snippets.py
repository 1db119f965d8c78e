"""The PyTorch/torchaudio code behind the Train tab, as text for its "Code" panel and download.

The snippet runs as is next to the clips it names (the tab's download zips them with it, as
the 16 kHz mono float WAVs the app trained on). It ends with ``history`` (mean training loss
per epoch), ``fc``, ``mean``, ``std``, ``confusion`` defined and ``head.pt`` saved in the
format the tab reads back; the tests execute it and compare with the app's results.
"""

from __future__ import annotations

from audiolab.core import limits
from audiolab.train import compute as train
from audiolab.wav2vec2 import snippets as w2v_snippets
from audiolab.wav2vec2.models import W2VModel

_LOAD = """

def load(path):
    \"\"\"Mono (1, time) at {rate} Hz, cut to {max_s:g} s: what the app does to every clip.\"\"\"
    waveform, sample_rate = torchaudio.load(path)
    waveform = waveform.mean(0, keepdim=True)[:, : int({max_s:g} * sample_rate)]
    if sample_rate != {rate}:
        waveform = torchaudio.functional.resample(waveform, sample_rate, {rate}).clamp(-1, 1)
    return waveform.to(device)

"""

_TRAIN = """
# 3. Features of the frozen backbone, computed ONCE (not every epoch) and without a graph
with torch.inference_mode():
    features = torch.cat([backbone(load(f)).float().cpu() for f in files])
features = features.clone()  # a normal tensor: inference tensors cannot be saved for backward()
print("features:", tuple(features.shape))

# 4. The new head, the only trainable part: the seed's `model.fc = nn.Linear(512, 10)`
mean = features[train_idx].mean(0)
std = features[train_idx].std(0, unbiased=False).clamp_min({floor!r})  # standardised features: SGD likes unit scale
x = ((features - mean) / std).to(device)
y = targets.to(device)
torch.manual_seed({seed})
fc = nn.Linear(features.shape[1], len(labels)).to(device)
trainable = sum(p.numel() for p in fc.parameters() if p.requires_grad)
print(f"trainable parameters: {{trainable:,}}, frozen: {{frozen:,}}")

# 5. Train: forward, loss, backward() fills .grad (of fc only), step
optimizer = torch.optim.SGD(fc.parameters(), lr={lr!r}, momentum={momentum!r})
history = []
for epoch in range({epochs}):
    order = train_idx[torch.randperm(len(train_idx))].to(device)
    total = 0.0
    for batch in order.split({batch_size}):
        optimizer.zero_grad()  # backward() adds to .grad: clear it first
        loss = F.cross_entropy(fc(x[batch]), y[batch])
        loss.backward()
        optimizer.step()
        total += loss.item() * len(batch)
    history.append(total / len(order))
    with torch.no_grad():  # evaluation needs no graph
        accuracy = (fc(x[test_idx]).argmax(1) == y[test_idx]).float().mean().item()
    print(f"epoch {{epoch + 1}}: loss {{history[-1]:.4f}}, held-out accuracy {{accuracy:.2f}}")

# 6. Held-out confusion matrix (rows: true label, columns: predicted) and the head file
with torch.no_grad():
    predicted = fc(x[test_idx]).argmax(1).cpu()
confusion = torch.zeros(len(labels), len(labels), dtype=torch.int64)
for true, guess in zip(targets[test_idx].tolist(), predicted.tolist()):
    confusion[true, guess] += 1
print(confusion)
state_dict = {{"mean": mean, "std": std, "fc.weight": fc.weight.detach().cpu(), "fc.bias": fc.bias.detach().cpu()}}
backbone_config = {backbone!r}
torch.save({{"format": {format!r}, "labels": labels, "backbone": backbone_config, "state_dict": state_dict}}, "head.pt")


def classify(path):
    \"\"\"Class probabilities of a new clip.\"\"\"
    with torch.no_grad():
        feature = backbone(load(path)).float().cpu()
        probabilities = torch.softmax(fc(((feature - mean) / std).to(device)), dim=1)[0]
    return dict(zip(labels, probabilities.tolist()))
"""


def _mfcc_backbone(config: dict) -> str:
    return f"""
device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
melkwargs = {{"n_fft": {train.MFCC_N_FFT}, "hop_length": {train.MFCC_HOP}, "n_mels": {limits.TRAIN_N_MELS}}}
mfcc = T.MFCC(sample_rate={limits.TRAIN_SAMPLE_RATE}, n_mfcc={config["n_mfcc"]}, melkwargs=melkwargs).to(device)
for p in mfcc.parameters():  # freeze (MFCC has no parameters: its filterbank and DCT are buffers)
    p.requires_grad = False
frozen = sum(p.numel() for p in mfcc.parameters())


def backbone(waveform):
    \"\"\"(1, time) -> (1, n_mfcc): MFCCs averaged over time.\"\"\"
    return mfcc(waveform).mean(dim=-1)
"""


def _wav2vec2_backbone(config: dict, model: W2VModel) -> str:
    norm = ""
    if model.source.get("kind") != "bundle" and model.normalize_eps is not None:
        norm = f"    waveform = F.layer_norm(waveform, waveform.shape[-1:], eps={model.normalize_eps!r})\n"
    return (
        "\n"
        + w2v_snippets.model_code(model)
        + f"""model.eval()
for p in model.parameters():  # freeze: requires_grad=False, so backward() never makes a .grad for them
    p.requires_grad = False
frozen = sum(p.numel() for p in model.parameters())


def backbone(waveform):
    \"\"\"(1, time) -> (1, dim): transformer layer {config["layer"]}'s output averaged over frames.\"\"\"
    if model_rate != {limits.TRAIN_SAMPLE_RATE}:
        waveform = torchaudio.functional.resample(waveform, {limits.TRAIN_SAMPLE_RATE}, model_rate).clamp(-1, 1)
{norm}    features, _ = model.extract_features(waveform, num_layers={config["layer"]})
    return features[-1].mean(dim=1)
"""
    )


def _list(name: str, items: list, width: int = 100) -> str:
    """``name = [...]`` wrapped at ``width`` characters (items are never split)."""
    lines, line = [], ""
    for item in map(repr, items):
        if line and len(line) + len(item) + 2 > width:
            lines.append(line)
            line = ""
        line += (" " if line else "") + item + ","
    return f"{name} = [\n" + "".join(f"    {x}\n" for x in [*lines, line] if x) + "]"


def train_snippet(files: list[str], prepared: train.Prepared, config: train.TrainConfig, *,
                  model: W2VModel | None = None) -> str:  # fmt: skip
    """Code that trains the same head on ``files`` (one per clip of ``prepared``, same order).

    ``model`` is the wav2vec2 model (from :mod:`audiolab.wav2vec2.models`) when the backbone is wav2vec2.
    """
    clip_labels = [prepared.labels[t] for t in prepared.targets.tolist()]
    imports = "import torch\nimport torch.nn.functional as F\nimport torchaudio\nimport torchaudio.transforms as T\n"
    imports += "from torch import nn\n\n# 1. The backbone, frozen\n"
    if prepared.backbone["kind"] == "mfcc":
        backbone = _mfcc_backbone(prepared.backbone)
    elif model is None:
        raise ValueError("the wav2vec2 snippet needs the model")
    else:
        backbone = _wav2vec2_backbone(prepared.backbone, model)
    data = [
        "",
        "# 2. The clips, their labels and the held-out split (the app's seeded, stratified split)",
        _list("files", files),
        _list("clip_labels", clip_labels),
        f"labels = {prepared.labels!r}",
        "targets = torch.tensor([labels.index(label) for label in clip_labels])",
        f"train_idx = torch.tensor({prepared.train_idx.tolist()!r})",
        f"test_idx = torch.tensor({prepared.test_idx.tolist()!r})",
    ]
    load = _LOAD.format(rate=limits.TRAIN_SAMPLE_RATE, max_s=limits.TRAIN_MAX_CLIP_S)
    body = _TRAIN.format(
        floor=train.STD_FLOOR, seed=config.seed, lr=config.lr, momentum=config.momentum, epochs=config.epochs,
        batch_size=config.batch_size, format=train.HEAD_FORMAT, backbone=prepared.backbone,
    )  # fmt: skip
    return imports + backbone + load + "\n".join(data) + "\n" + body
