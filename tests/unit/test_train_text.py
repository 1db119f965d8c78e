"""Train-tab text built on the server (parameter counts, progress and status lines) in English and Chinese."""

from __future__ import annotations

import pytest

from audiolab.train import compute as train
from components import train_tab


@pytest.fixture(scope="module")
def trained():
    clips = train.builtin_set(seed=0, per_label=3)
    config = train.TrainConfig(epochs=3, seed=1)
    prepared = train.prepare(clips, train.mfcc_backbone(n_mfcc=12), config)
    return prepared, train.train_head(prepared, config)


def test_parameter_counts_read_in_both_languages_with_the_same_numbers(trained):
    prepared, _ = trained
    en, zh = train_tab._params_md(prepared, "en-US"), train_tab._params_md(prepared, "zh-CN")
    trainable = f"{prepared.trainable_parameters:,}"
    assert prepared.trainable_parameters == 12 * 3 + 3
    assert f"**Trainable: {trainable}**" in en and "nn.Linear(12, 3)" in en and "MFCC, 12 coefficients" in en
    assert f"**可训练：{trainable}**" in zh and "nn.Linear(12, 3)" in zh and "冻结" in zh and "Trainable" not in zh
    assert f"{len(prepared.train_idx)} 个片段用于训练" in zh


def test_status_lines_read_in_both_languages(trained):
    _, result = trained
    en, zh = train_tab._status(result, [], "en"), train_tab._status(result, [], "zh-CN")
    loss = f"{result.loss[-1]:.4f}"
    assert en.startswith(f"**Done** in {result.seconds:.2f} s. Epoch 3/3") and loss in en and "none" in en
    assert zh.startswith("**完成**") and "第 3/3 轮" in zh and f"损失 {loss}" in zh and "：无。" in zh
    assert "Epoch" not in zh and "Done" not in zh
