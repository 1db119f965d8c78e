// Axes: frequency scales (linear, log, mel), note names, nice ticks, time text.

export const SCALES = ["linear", "log", "mel"];

const mel = (f) => 2595 * Math.log10(1 + f / 700);
const melInverse = (m) => 700 * (10 ** (m / 2595) - 1);

/** Maps between frequency (Hz) and a 0..1 position (0 = bottom) on `scale` from fmin to fmax. */
export function frequencyScale(scale, fmax, fmin = 0) {
  if (scale === "log") {
    const lo = Math.max(fmin, 20, fmax / 2000);
    const a = Math.log(lo), b = Math.log(fmax);
    return { name: scale, lo, hi: fmax, toUnit: (f) => (Math.log(Math.max(f, lo)) - a) / (b - a), fromUnit: (u) => Math.exp(a + u * (b - a)) };
  }
  if (scale === "mel") {
    const a = mel(fmin), b = mel(fmax);
    return { name: scale, lo: fmin, hi: fmax, toUnit: (f) => (mel(f) - a) / (b - a), fromUnit: (u) => melInverse(a + u * (b - a)) };
  }
  return { name: "linear", lo: fmin, hi: fmax, toUnit: (f) => (f - fmin) / (fmax - fmin), fromUnit: (u) => fmin + u * (fmax - fmin) };
}

const NAMES = ["C", "C♯", "D", "D♯", "E", "F", "F♯", "G", "G♯", "A", "A♯", "B"];

/** The nearest equal-tempered note (A4 = 440 Hz) and the offset in cents, e.g. "A4 +12 ¢". */
export function noteName(hz) {
  if (!(hz > 0) || !isFinite(hz)) return "";
  const midi = 69 + 12 * Math.log2(hz / 440);
  const nearest = Math.round(midi);
  const cents = Math.round((midi - nearest) * 100);
  const name = NAMES[((nearest % 12) + 12) % 12] + (Math.floor(nearest / 12) - 1);
  return `${name} ${cents >= 0 ? "+" : "−"}${Math.abs(cents)} ¢`;
}

/** Round numbers between lo and hi, about `count` of them (1, 2, 5 x 10^k steps). */
export function niceTicks(lo, hi, count) {
  if (!(hi > lo)) return [];
  const raw = (hi - lo) / Math.max(1, count);
  const power = 10 ** Math.floor(Math.log10(raw));
  const step = [1, 2, 5, 10].map((m) => m * power).find((s) => s >= raw) || 10 * power;
  const ticks = [];
  for (let v = Math.ceil(lo / step) * step; v <= hi + step * 1e-9; v += step) ticks.push(Math.abs(v) < step * 1e-9 ? 0 : v);
  return ticks;
}

/** Frequency ticks for a scale: round numbers on linear/mel, 1-2-5 per decade on log. */
export function frequencyTicks(scale, count) {
  if (scale.name !== "log") return niceTicks(scale.lo, scale.hi, count);
  const ticks = [];
  for (let decade = 10 ** Math.floor(Math.log10(scale.lo)); decade <= scale.hi; decade *= 10) {
    for (const m of [1, 2, 5]) if (m * decade >= scale.lo && m * decade <= scale.hi) ticks.push(m * decade);
  }
  return ticks;
}

/** "1.234 s", or "2:05.3" past a minute; digits follow the visible span. */
export function timeText(seconds, span = 10) {
  const digits = span < 0.05 ? 4 : span < 0.5 ? 3 : span < 5 ? 2 : span < 60 ? 1 : 0;
  if (Math.abs(seconds) < 60) return `${seconds.toFixed(digits)} s`;
  const m = Math.floor(seconds / 60);
  const s = seconds - m * 60;
  return `${m}:${s.toFixed(digits).padStart(digits ? 3 + digits : 2, "0")}`;
}

/** "1.23 kHz" above 1 kHz, else "440 Hz". */
export function hzText(hz) {
  if (!isFinite(hz)) return "–";
  return hz >= 1000 ? `${(hz / 1000).toFixed(hz >= 10000 ? 1 : 2)} kHz` : `${hz.toFixed(hz < 100 ? 1 : 0)} Hz`;
}
