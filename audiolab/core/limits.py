"""Every bound on input size and parameters, in one place, with the checks that use them.

Checks raise :class:`AudioLabError` with a message that repeats the offending value.
"""

from __future__ import annotations

import math

from audiolab.core.errors import AudioLabError

# --- Input audio -------------------------------------------------------------------
MAX_FILE_BYTES = 25 * 1024 * 1024  # uploads and URL downloads (matches launch max_file_size)
MAX_DURATION_S = 600.0  # longest audio decoded, in seconds (longer input is cut there)
MAX_TOTAL_SAMPLES = 10_000_000  # channel x time samples held at once (38 MiB float32)
DECODE_CHUNK_SAMPLES = 1_000_000  # decode this many samples (channel x time) at a time into one preallocated tensor
MIN_SAMPLE_RATE = 1_000  # Hz
MAX_SAMPLE_RATE = 384_000  # Hz
MAX_CHANNELS = 32
MAX_PLOTTED_CHANNELS = 8  # channels drawn as waveform/spectrogram rows
PLAYER_MAX_RATE = 48_000  # browsers play up to this rate; faster audio is resampled for the player
PLAYER_MAX_CHANNELS = 2  # the player gets the first two channels (downloads keep all)
MAX_VIEW_FRAMES = 1200  # STFT frames computed for a spectrogram view (hop grows with length; 1 per drawn column)

# --- Time ---------------------------------------------------------------------------------
REQUEST_BUDGET_S = 60.0  # wall-clock budget of one request's long loops (audiolab.core.deadline)

# --- URL loading --------------------------------------------------------------------
URL_CONNECT_TIMEOUT_S = 5.0
URL_TOTAL_TIMEOUT_S = 20.0
URL_MAX_REDIRECTS = 3

# --- Resampling ----------------------------------------------------------------------
RESAMPLE_TARGETS = (8_000, 11_025, 16_000, 22_050, 24_000, 32_000, 44_100, 48_000, 96_000)
MAX_RESAMPLE_KERNEL = 20_000_000  # elements of torchaudio's sinc kernel (orig/g x new/g x ~13)
RESAMPLE_CHUNK_SAMPLES = 1_000_000  # input samples (channel x time) resampled at once: bounded scratch memory

# --- Export ---------------------------------------------------------------------------
EXPORT_FORMATS = ("wav", "flac", "mp3", "ogg")
WAV_BIT_DEPTHS = (16, 24, 32, "float")

# --- Disk (components.storage) ----------------------------------------------------------
DISK_BUDGET_BYTES = 2 * 1024**3  # results + Gradio's cache (uploads, copies of results) on disk at once
DISK_MIN_FREE_BYTES = 256 * 1024**2  # left free on the filesystem (for other programs) ...
DISK_MIN_FREE_FRACTION = 0.02  # ... or this share of it, whichever is smaller (small filesystems)
DISK_RESCAN_S = 5.0  # the folders are counted at most this often (unless a write would not fit)
DISK_SWEEP_MIN_AGE_S = 10.0  # files younger than this (results on their way to a browser) are never swept
OUTPUT_MAX_AGE_S = 3600.0  # results and uploads older than this are deleted (also those of earlier runs)
SWEEP_EVERY_S = 60.0  # the age sweep runs at most this often

# --- Scheduling (components.scheduling) ---------------------------------------------------
HEAVY_SLOTS_PER_GPU = 8  # heavy requests at once per GPU (on a CPU: one per core); the wav2vec2 batcher needs several

# --- Model/transform cache ------------------------------------------------------------
CACHE_BUDGET_CPU_BYTES = 3 * 1024**3
CACHE_BUDGET_GPU_BYTES = 12 * 1024**3


def check_number(name: str, value: object, lo: float, hi: float, *, integer: bool = False) -> float:
    """Return ``value`` as a float (or int) after checking it is finite and in [lo, hi]."""
    if isinstance(value, bool):
        raise AudioLabError(f"{name} must be a number, got {value!r}.", zh=f"{name} 必须是数字，实际为 {value!r}。")
    if not isinstance(value, (int, float)):
        try:
            value = float(value)  # type: ignore[arg-type]
        except (TypeError, ValueError):
            raise AudioLabError(
                f"{name} must be a number, got {value!r}.", zh=f"{name} 必须是数字，实际为 {value!r}。"
            ) from None
    if not math.isfinite(value):
        raise AudioLabError(
            f"{name} must be a finite number, got {value}.", zh=f"{name} 必须是有限的数字，实际为 {value}。"
        )
    if integer and value != int(value):
        raise AudioLabError(f"{name} must be a whole number, got {value}.", zh=f"{name} 必须是整数，实际为 {value}。")
    if not lo <= value <= hi:
        raise AudioLabError(
            f"{name}={value:g} is out of range: allowed {lo:g} to {hi:g}.",
            zh=f"{name}={value:g} 超出范围：允许 {lo:g} 到 {hi:g}。",
        )
    return int(value) if integer else float(value)


def check_choice(name: str, value: object, choices: tuple | list) -> object:
    """Return ``value`` if it is one of ``choices``, else raise listing the valid ones."""
    if value not in choices:
        valid = ", ".join(str(c) for c in choices)
        raise AudioLabError(
            f"Invalid {name}: {value!r}. Please choose one of: {valid}.",
            zh=f"无效的 {name}：{value!r}。请从以下选择：{valid}。",
        )
    return value


def check_sample_rate(sample_rate: int) -> int:
    """Check a decoded sample rate (Hz) is one the app can work with."""
    if not MIN_SAMPLE_RATE <= sample_rate <= MAX_SAMPLE_RATE:
        raise AudioLabError(
            f"Sample rate {sample_rate} Hz is not supported: it must be between "
            f"{MIN_SAMPLE_RATE} and {MAX_SAMPLE_RATE} Hz.",
            zh=f"不支持 {sample_rate} Hz 的采样率：必须在 {MIN_SAMPLE_RATE} 到 {MAX_SAMPLE_RATE} Hz 之间。",
        )
    return sample_rate


def check_channels(num_channels: int) -> int:
    """Check a channel count is within what the app decodes."""
    if not 1 <= num_channels <= MAX_CHANNELS:
        raise AudioLabError(
            f"The audio has {num_channels} channels; at most {MAX_CHANNELS} are supported.",
            zh=f"音频有 {num_channels} 个声道；最多支持 {MAX_CHANNELS} 个。",
        )
    return num_channels


def max_frames(sample_rate: int, num_channels: int, max_seconds: float | None = None,
               max_samples: int | None = None) -> int:  # fmt: skip
    """The most frames (time samples per channel) decoded for this rate and channel count:
    ``MAX_DURATION_S`` / ``MAX_TOTAL_SAMPLES``, or a tab's smaller ``max_seconds`` / ``max_samples``."""
    seconds, samples = decode_bounds(max_seconds, max_samples)
    return max(1, min(int(seconds * sample_rate), samples // max(num_channels, 1)))


def decode_bounds(max_seconds: float | None = None, max_samples: int | None = None) -> tuple[float, int]:
    """``(seconds, samples across channels)`` a decode may hold: a tab's bounds, never above the global ones."""
    seconds = MAX_DURATION_S if max_seconds is None else min(max_seconds, MAX_DURATION_S)
    return seconds, MAX_TOTAL_SAMPLES if max_samples is None else min(max_samples, MAX_TOTAL_SAMPLES)


def resample_kernel_size(orig_freq: int, new_freq: int) -> int:
    """Approximate element count of ``torchaudio.transforms.Resample``'s kernel."""
    g = math.gcd(orig_freq, new_freq)
    return (new_freq // g) * (orig_freq // g) * 13


# --- wav2vec2 -------------------------------------------------------------------------------
W2V_DEFAULT_MODEL = "WAV2VEC2_ASR_BASE_960H"
W2V_ASR_BUNDLES = (  # torchaudio.pipelines bundles with a CTC head (emissions, transcripts)
    "WAV2VEC2_ASR_BASE_960H", "WAV2VEC2_ASR_BASE_100H", "WAV2VEC2_ASR_BASE_10M",
    "WAV2VEC2_ASR_LARGE_960H", "WAV2VEC2_ASR_LARGE_100H", "WAV2VEC2_ASR_LARGE_10M",
    "WAV2VEC2_ASR_LARGE_LV60K_960H", "WAV2VEC2_ASR_LARGE_LV60K_100H", "WAV2VEC2_ASR_LARGE_LV60K_10M",
    "HUBERT_ASR_LARGE", "VOXPOPULI_ASR_BASE_10K_EN", "VOXPOPULI_ASR_BASE_10K_DE",
    "VOXPOPULI_ASR_BASE_10K_FR", "VOXPOPULI_ASR_BASE_10K_ES", "VOXPOPULI_ASR_BASE_10K_IT",
)  # fmt: skip
W2V_FEATURE_BUNDLES = (  # pre-trained only (no CTC head): layer features; 1B+ models left out (memory)
    "WAV2VEC2_BASE", "WAV2VEC2_LARGE", "WAV2VEC2_LARGE_LV60K", "WAV2VEC2_XLSR53", "WAV2VEC2_XLSR_300M",
    "HUBERT_BASE", "HUBERT_LARGE", "WAVLM_BASE", "WAVLM_BASE_PLUS", "WAVLM_LARGE",
)  # fmt: skip
W2V_HUB_MODELS = (  # Hugging Face Hub wav2vec2 CTC checkpoints (config.json + weights + vocab.json)
    "facebook/wav2vec2-base-960h",
    "jonatasgrosman/wav2vec2-large-xlsr-53-chinese-zh-cn",
)
W2V_HUB_FILES_WEIGHTS = ("model.safetensors", "pytorch_model.bin")  # tried in this order
W2V_MAX_WEIGHT_BYTES = 2 * 1024**3  # a checkpoint file larger than this is refused before loading
W2V_MAX_LOCAL_MODELS = 64  # folders listed from AUDIOLAB_MODEL_DIR
W2V_NET_TIMEOUT_S = 3.0  # reachability probe before a download is tried
W2V_MAX_DURATION_S = 300.0  # audio analysed by wav2vec2 (longer input is cut there, with a note)
W2V_FEATURES_MAX_S = 60.0  # audio used for layer features (all layers are summarised)
W2V_CHUNK_S = 20.0  # longer audio runs in chunks of this length (attention memory ~ length^2)
W2V_CHUNK_RANGE = (4.0, 60.0)
W2V_CONTEXT_S = 2.0  # extra audio each side of a chunk, dropped after inference
W2V_CONTEXT_RANGE = (0.0, 10.0)
W2V_MAX_EMISSION_VALUES = 16_000_000  # frames x tokens of one emission matrix (64 MB float32)
W2V_MAX_TRANSCRIPT_CHARS = 2_000  # forced alignment needs frames x (2 x tokens + 1) bytes
W2V_MAX_LAYERS = 48  # layer slider bound (large models have 24)
W2V_HEATMAP_MAX_TOKENS = 48  # rows drawn for big vocabularies (blank, recognised, most likely)
W2V_MAX_BOUNDARY_LABELS = 150  # token labels drawn on the time axis (more: ticks only)
W2V_RESULT_MEMO = 4  # recent emission matrices kept so "Align" after "Run" does not recompute

# --- wav2vec2 batching (audiolab.wav2vec2.batching) ------------------------------------------------
W2V_BATCH_WINDOW_S = 0.005  # a forward pass waits this long after its oldest chunk arrived for others to join
W2V_MAX_BATCH = 8  # chunks in one forward pass (1: no batching)
W2V_BATCH_DEVICES = ("cuda",)  # batch only here: on 2 CPU cores one batch was 13-19% slower than parallel passes
W2V_MAX_BATCH_SAMPLES = 8 * 24 * 16_000  # chunks x longest chunk: 8 default chunks (20 s + 2 x 2 s at 16 kHz)


# --- Griffin-Lim ---------------------------------------------------------------------------
GL_N_FFT_CHOICES = (128, 256, 512, 1024, 2048, 4096)
GL_MIN_WIN_LENGTH = 16  # samples; hop_length runs from 1 to win_length // 2 (the inverse needs overlap)
GL_N_ITER_RANGE = (1, 256)
GL_MOMENTUM_RANGE = (0.0, 0.99)  # torchaudio needs < 1; above ~0.99 it may diverge
GL_POWER_RANGE = (0.5, 2.0)  # exponent of the spectrogram (1 magnitude, 2 power)
GL_N_MELS_RANGE = (8, 256)
GL_SEED_RANGE = (0, 2**31 - 1)
GL_MAX_DURATION_S = 60.0  # longer input is cut here, with a note
GL_MAX_SPEC_BINS = 1_200_000  # channel x freq x frames held (~50 B each at peak: ~60 MB); longer input is cut to fit
GL_MAX_WORK = 1_000_000_000  # n_iter x channel x frames x n_fft: ~5 s on 2 idle CPU cores (measured 5-14 ns each)
GL_PROGRESS_INTERVAL_S = 0.25  # the progress callback is called at most this often (and at the end)


# --- Features ------------------------------------------------------------------------------
FEAT_MAX_DURATION_S = 180.0  # audio analysed by the Features tab (longer input is cut there, with a note)
FEAT_MAX_INPUT_SAMPLES = 2_880_000  # channel x time analysed (180 s of 16 kHz mono; 60 s at 48 kHz): bounded memory
FEAT_MAX_VALUES = 6_000_000  # channel x freq x frames of one spectrogram (24 MB float32, 48 MB complex): bounded memory
FEAT_N_FFT_RANGE = (16, 8192)
FEAT_MIN_WIN_LENGTH = 8  # samples; win_length runs up to n_fft
FEAT_HOP_MIN_DIVISOR = 8  # hop_length >= n_fft / 8 (at most 8x overlap: bounded frames) and <= n_fft
FEAT_PAD_MODES = ("reflect", "constant", "replicate", "circular")
FEAT_POWER_RANGE = (0.25, 4.0)  # spectrogram exponent; None (complex) is allowed for "spectrogram" only
FEAT_TOP_DB_RANGE = (1.0, 200.0)  # dB below the peak kept in dB views (None: no floor)
FEAT_N_MELS_RANGE = (1, 512)  # and at most n_fft // 2 + 1
FEAT_MEL_NORMS = (None, "slaney")
FEAT_MEL_SCALES = ("htk", "slaney")
FEAT_DCT_NORMS = ("ortho", None)
FEAT_N_FILTER_RANGE = (1, 512)  # LFCC linear filters, at most n_fft // 2 + 1
FEAT_BASES = ("mfcc", "lfcc", "mel_spectrogram", "spectrogram")  # inputs of deltas and CMN
FEAT_DELTA_WIN_RANGE = (3, 101)  # frames
FEAT_DELTA_MODES = ("replicate", "constant", "reflect", "circular")
FEAT_DELTA_ORDERS = (1, 2)
FEAT_CMN_WINDOW_RANGE = (1, 100_000)  # frames
FEAT_PITCH_FRAME_TIME_RANGE = (0.005, 0.1)  # s, detect_pitch_frequency frame
FEAT_MEDIAN_WIN_RANGE = (3, 101)  # frames, detect_pitch_frequency median smoothing
FEAT_FREQ_LOW_RANGE = (40, 2000)  # Hz, detect_pitch_frequency (lags = sample_rate / freq_low)
FEAT_PITCH_MAX_WORK = 3_000_000_000  # lags x channel x samples of detect_pitch_frequency (torchaudio loops over lags)
FEAT_F0_RANGE = (30.0, 2000.0)  # Hz, NCCF pitch tracker
FEAT_NCCF_FRAME_MS_RANGE = (10.0, 100.0)  # analysis window
FEAT_NCCF_SHIFT_MS_RANGE = (1.0, 50.0)  # frame shift
FEAT_NCCF_CHUNK_VALUES = 1_000_000  # batch x frames x FFT size correlated at once (bounded memory)
FEAT_MIN_LOUDNESS_S = 0.4  # ITU-R BS.1770 gating blocks are 400 ms long
FEAT_PITCH_CHUNK_VALUES = 262_144  # channels x frames x (frame + lags) samples per detect_pitch_frequency block


# --- Augment -------------------------------------------------------------------------------
AUG_MAX_DURATION_S = 30.0  # audio augmented (longer input is cut there, with a note)
AUG_MAX_INPUT_SAMPLES = 3_000_000  # channel x time of the input (2 channels x 48 kHz x 31 s)
AUG_MAX_FRAMES = 3_000_000  # frames per channel of any step's result (62 s at 48 kHz)
AUG_MAX_SAMPLES = 6_000_000  # channel x time of any step's result (24 MB float32)
AUG_MAX_STFT_VALUES = 6_000_000  # freq x frames of one channel's (stretched) STFT: ~75 B each at peak, ~450 MB
AUG_MAX_STEPS = 12
AUG_MAX_CHAIN_CHARS = 20_000  # characters of a chain's JSON text
AUG_SEED_RANGE = (0, 2**31 - 1)
AUG_N_FFT_CHOICES = (256, 512, 1024, 2048)
AUG_HOP_MIN_DIVISOR = 8  # hop_length runs from n_fft // 8 to n_fft // 2
AUG_VOCODER_BLOCK_FRAMES = 512  # phase vocoder output frames computed at once (bounded temporaries)
AUG_STRETCH_RATE_RANGE = (0.5, 2.0)  # phase vocoder speed-up (a rate near 0 would allocate gigabytes)
AUG_TIME_MASK_RANGE = (1, 1000)  # time_mask_param, STFT frames
AUG_FREQ_MASK_RANGE = (1, 1025)  # freq_mask_param, STFT bins
AUG_NUM_MASKS_RANGE = (1, 10)
AUG_INVERSIONS = ("phase", "griffinlim")  # masked spectrogram -> audio: inverse STFT with the phase, or Griffin-Lim
AUG_GRIFFINLIM_ITERS = 32
AUG_PITCH_STEPS_RANGE = (-12.0, 12.0)  # n_steps (fractional allowed)
AUG_BINS_PER_OCTAVE_RANGE = (1, 96)
AUG_PITCH_MAX_OCTAVES = 1.0  # |n_steps / bins_per_octave|: the stretch rate stays in [0.5, 2]
AUG_PITCH_RATIO_TOL = 1e-4  # the resampling ratio p/q is within 0.01 % (0.17 cent) of 2 ** (n / bins)
AUG_PITCH_MAX_TERM = 2_000  # p, q <= this: the resampling kernel has at most ~2000 x 2015 values (16 MB)
AUG_SPEED_RANGE = (0.5, 2.0)
AUG_SPEED_MAX_DENOMINATOR = 100  # speed factors become p/q with q <= 100 (1.1 -> 11/10): small kernels
AUG_MAX_FACTORS = 8  # speed_perturbation factors
AUG_SNR_RANGE_DB = (-20.0, 60.0)
AUG_NOISE_KINDS = ("white", "pink", "brown", "clip")
AUG_RT60_RANGE_S = (0.05, 3.0)
AUG_RIR_KINDS = ("synthetic", "clip")
AUG_RIR_MAX_S = 3.0  # an uploaded impulse response is cut to this long after its peak
AUG_FREQ_RANGE_HZ = (1.0, 96_000.0)  # biquad frequencies; each must also be below the Nyquist frequency
AUG_Q_RANGE = (0.1, 20.0)
AUG_EQ_GAIN_RANGE_DB = (-24.0, 24.0)
AUG_GAIN_RANGE_DB = (-60.0, 24.0)
AUG_FADE_RANGE_S = (0.0, 30.0)
AUG_FADE_SHAPES = ("linear", "exponential", "logarithmic", "quarter_sine", "half_sine")
AUG_PREEMPHASIS_RANGE = (0.0, 1.0)


# --- Timeline (audiolab.timeline: the interactive view in every tab) -----------------------------
TIMELINE_PEAK_BUCKETS = 16_384  # min/max pairs per channel in a view's overview waveform
TIMELINE_OVERVIEW_COLS = (480, 2048)  # spectrogram columns of a view's overview: 16 per second, within these
TIMELINE_OVERVIEW_ROWS = 256  # frequency rows of the overview (bins max-pooled in groups)
TIMELINE_TILE_COLS = (16, 2048)  # columns of a zoom tile (the browser asks for its width in pixels)
TIMELINE_TILE_ROWS = 256  # frequency rows of a zoom tile (a lane's pixels on a 2x screen; ~0.3 MB a tile)
TIMELINE_DB_RANGE = 120.0  # dB from a spectrogram's ceiling (its loudest bin) down to its floor
TIMELINE_FRAME_BLOCK = 2**20  # samples of STFT frames gathered at once (about 4 MB: bounded memory on long clips)
TIMELINE_STORE_BYTES = 256 * 1024**2  # decoded audio of recent views kept for zoom tiles and overlays
TIMELINE_STORE_VIEWS = 64  # views kept at most (the oldest expire first)


# --- Compare -------------------------------------------------------------------------------
CMP_ALIGNS = ("time", "content")  # sample by sample at A's rate, or B's time axis scaled to A's duration
CMP_MAX_DURATION_S = 60.0  # each clip compared (longer input is cut there, with a note)
CMP_MAX_INPUT_SAMPLES = 2_880_000  # channel x time of each clip: spectrograms of ~6M values (24 MB float32) each
CMP_N_FFT = 1024  # one STFT grid for both clips (difference spectrogram, LSD); a clip needs at least n_fft samples
CMP_HOP_LENGTH = 256


# --- Train ---------------------------------------------------------------------------------
TRAIN_SAMPLE_RATE = 16_000  # every clip is mixed to mono and resampled to this rate (wav2vec2's rate)
TRAIN_LABELS_RANGE = (2, 10)  # distinct labels in a training set
TRAIN_LABEL_MAX_CHARS = 40
TRAIN_MIN_CLIPS_PER_LABEL = 2  # one for training, one held out
TRAIN_MAX_CLIPS = 120  # clips in a training set
TRAIN_MIN_CLIP_S = 0.05  # shorter clips are refused (wav2vec2 needs 25 ms, the MFCC STFT 12.5 ms)
TRAIN_MAX_CLIP_S = 5.0  # longer clips are cut here, with a note
TRAIN_MAX_TOTAL_S = 300.0  # seconds of audio in a set (after cutting): bounds feature extraction
TRAIN_N_MFCC_RANGE = (8, 64)  # MFCC coefficients (the feature dimension of the MFCC backbone)
TRAIN_N_MELS = 64  # mel bands under the MFCC (n_fft 400 = 25 ms, hop 160 = 10 ms at 16 kHz)
TRAIN_EPOCHS_RANGE = (1, 300)
TRAIN_LR_RANGE = (1e-5, 1.0)  # SGD learning rate (the seed's default 1e-2)
TRAIN_MOMENTUM_RANGE = (0.0, 0.99)  # SGD momentum (the seed's default 0.9)
TRAIN_BATCH_RANGE = (1, 128)
TRAIN_TEST_FRACTION_RANGE = (0.1, 0.5)  # share of each label's clips held out
TRAIN_SEED_RANGE = (0, 2**31 - 1)
TRAIN_MAX_TRAIN_S = 30.0  # wall-clock budget of the epoch loop: training stops there (the head is kept), with a note
TRAIN_PLOT_INTERVAL_S = 0.3  # the streamed loss curve is redrawn at most this often (and at the end)
TRAIN_BUILTIN_CLIPS_PER_LABEL = 16  # built-in set: "low tone", "high tone", "noise"
TRAIN_MAX_HEAD_BYTES = 2 * 1024**2  # an uploaded head .pt larger than this is refused
TRAIN_W2V_DEFAULT_MODEL = "WAV2VEC2_BASE"  # pre-trained only (no CTC head): the frozen wav2vec2 backbone
TRAIN_W2V_DEFAULT_LAYER = 6  # transformer layer whose output is pooled (1-based, at most the model's layers)

# --- Batch tab (audiolab.batch; the command line has no such caps) --------------------------------
BATCH_MAX_FILES = 200  # audio files in an uploaded zip
BATCH_MAX_TOTAL_BYTES = 400 * 1024**2  # bytes extracted from one zip (a zip bomb stops here)
