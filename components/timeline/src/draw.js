// Drawing the lanes of a timeline into a canvas: spectrogram and heatmap layers pixel by
// pixel through a colour table, waveform peaks as min/max bars (or the samples themselves
// when zoomed past one sample per pixel), overlays as lines, regions as labelled boxes.

import { frequencyTicks, hzText, niceTicks, timeText } from "./scales.js";

/** A 256-entry RGBA (as little-endian uint32) table from packed (256, 3) RGB bytes. */
export function colourTable(rgb) {
  const out = new Uint32Array(256);
  for (let i = 0; i < 256; i++) out[i] = (255 << 24) | (rgb[3 * i + 2] << 16) | (rgb[3 * i + 1] << 8) | rgb[3 * i];
  return out;
}

/** Table from a spectrogram's uint8 codes (over [dbMin, dbMax]) to colours over [floor, ceiling] dB. */
export function levelTable(colours, dbMin, dbMax, floor, ceiling) {
  const out = new Uint32Array(256);
  const span = ceiling - floor || 1;
  for (let q = 0; q < 256; q++) {
    const db = dbMin + (q * (dbMax - dbMin)) / 255;
    out[q] = colours[Math.max(0, Math.min(255, Math.round(((db - floor) / span) * 255)))];
  }
  return out;
}

/** Column index of each of `width` pixels into blocks of `dt` s from `t0` (-1 outside). */
export function columnIndex(width, view, track, block, centred) {
  const out = new Int32Array(width);
  const span = view.t1 - view.t0;
  for (let x = 0; x < width; x++) {
    const g = view.t0 + ((x + 0.5) / width) * span;
    const t = (g - track.offset) / track.stretch;
    const k = centred ? Math.round((t - block.t0) / block.dt) : Math.floor((t - block.t0) / block.dt);
    out[x] = k >= 0 && k < block.cols && t >= 0 && t <= track.duration ? k : -1;
  }
  return out;
}

/** Spectrogram row of each of `height` pixels (top first) on frequency `scale`. */
export function spectrogramRows(height, scale, spec, track) {
  const out = new Int32Array(height);
  const perBin = track.sample_rate / track.n_fft;
  for (let y = 0; y < height; y++) {
    const f = scale.fromUnit(1 - (y + 0.5) / height);
    const bin = Math.round(f / perBin);
    out[y] = binRow(bin, spec);
  }
  return out;
}

/** The row of a spectrogram block holding FFT bin `bin`: rows pool bins floor(i n / rows) up to
 * floor((i + 1) n / rows) (the server's pool_rows), so bin b is in row ceil((b + 1) rows / n) - 1. */
export function binRow(bin, spec) {
  if (!spec.pooled_rows) return Math.max(0, Math.min(spec.rows - 1, bin));
  return Math.max(0, Math.min(spec.rows - 1, Math.ceil(((bin + 1) * spec.rows) / spec.bins) - 1));
}

/** Fill an ImageData with `data` (rows x cols, row 0 = lowest) through `table`. */
export function paintGrid(image, data, cols, colIndex, rowIndex, table, background) {
  const pixels = new Uint32Array(image.data.buffer);
  const width = image.width;
  for (let y = 0; y < image.height; y++) {
    const base = rowIndex[y] * cols;
    const line = y * width;
    for (let x = 0; x < width; x++) {
      const k = colIndex[x];
      pixels[line + x] = k < 0 || rowIndex[y] < 0 ? background : table[data[base + k]];
    }
  }
}

/** Min/max bars (or a line through the samples when zoomed in) of int16 peaks. */
export function paintPeaks(ctx, lane, view, track, peaks, channel, colour) {
  const { x, y, w, h } = lane;
  const data = peaks.data[channel];
  const span = view.t1 - view.t0;
  const mid = y + h / 2;
  const scaleY = (h / 2 - 1) / 32767;
  ctx.fillStyle = colour;
  ctx.strokeStyle = colour;
  const samplesPerPixel = (span / track.stretch / w) * track.sample_rate;
  if (samplesPerPixel < 0.5) {
    ctx.beginPath();
    let started = false;
    for (let k = 0; k < peaks.cols; k++) {
      const t = peaks.t0 + (k + 0.5) * peaks.dt;
      const px = x + ((track.offset + t * track.stretch - view.t0) / span) * w;
      if (px < x - 2 || px > x + w + 2) continue;
      const py = mid - ((data[2 * k] + data[2 * k + 1]) / 2) * scaleY;
      if (started) ctx.lineTo(px, py); else ctx.moveTo(px, py);
      started = true;
    }
    ctx.lineWidth = 1;
    ctx.stroke();
    return;
  }
  for (let px = 0; px < w; px++) {
    const g0 = view.t0 + (px / w) * span, g1 = view.t0 + ((px + 1) / w) * span;
    const a = (g0 - track.offset) / track.stretch, b = (g1 - track.offset) / track.stretch;
    if (b < 0 || a > track.duration) continue;
    let k0 = Math.floor((a - peaks.t0) / peaks.dt), k1 = Math.ceil((b - peaks.t0) / peaks.dt);
    k0 = Math.max(0, k0);
    k1 = Math.min(peaks.cols, Math.max(k1, k0 + 1));
    let lo = 32767, hi = -32768;
    for (let k = k0; k < k1; k++) {
      if (data[2 * k] < lo) lo = data[2 * k];
      if (data[2 * k + 1] > hi) hi = data[2 * k + 1];
    }
    if (hi < lo) continue;
    const top = mid - hi * scaleY, bottom = mid - lo * scaleY;
    ctx.fillRect(x + px, top, 1, Math.max(1, bottom - top));
  }
}

/** A line through overlay points; NaN (unvoiced) breaks it. `toY` maps a value to a pixel row. */
export function paintLine(ctx, lane, view, track, overlay, channel, toY, colour) {
  const values = overlay.data[Math.min(channel, overlay.data.length - 1)];
  const span = view.t1 - view.t0;
  const { x, w } = lane;
  const tt0 = (view.t0 - track.offset) / track.stretch, tt1 = (view.t1 - track.offset) / track.stretch;
  const k0 = Math.max(0, Math.floor((tt0 - overlay.t0) / overlay.dt) - 1);
  const k1 = Math.min(values.length, Math.ceil((tt1 - overlay.t0) / overlay.dt) + 2);
  const step = Math.max(1, Math.floor((k1 - k0) / (w * 2)));
  const path = new Path2D();
  let drawing = false;
  for (let k = k0; k < k1; k += step) {
    const v = values[k];
    if (!isFinite(v)) { drawing = false; continue; }
    const px = x + ((track.offset + (overlay.t0 + k * overlay.dt) * track.stretch - view.t0) / span) * w;
    const py = toY(v);
    if (drawing) path.lineTo(px, py); else path.moveTo(px, py);
    drawing = true;
  }
  ctx.save();
  ctx.beginPath();
  ctx.rect(lane.x, lane.y, lane.w, lane.h);
  ctx.clip();
  ctx.lineJoin = "round";
  ctx.strokeStyle = "rgba(0,0,0,0.75)";
  ctx.lineWidth = 3.5;
  ctx.stroke(path);
  ctx.strokeStyle = colour;
  ctx.lineWidth = 1.8;
  ctx.stroke(path);
  ctx.restore();
}

/** Labelled boxes of one tier's regions; `hover` is the index under the pointer. */
export function paintRegions(ctx, lane, view, track, regions, hover, theme) {
  const span = view.t1 - view.t0;
  ctx.save();
  ctx.beginPath();
  ctx.rect(lane.x, lane.y, lane.w, lane.h);
  ctx.clip();
  ctx.font = `${Math.round(lane.h * 0.55)}px ${theme.font}`;
  ctx.textBaseline = "middle";
  regions.forEach((r, i) => {
    const a = lane.x + ((track.offset + r.start * track.stretch - view.t0) / span) * lane.w;
    const b = lane.x + ((track.offset + r.end * track.stretch - view.t0) / span) * lane.w;
    if (b < lane.x || a > lane.x + lane.w) return;
    ctx.fillStyle = i === hover ? theme.regionHover : i % 2 ? theme.regionA : theme.regionB;
    ctx.fillRect(a, lane.y + 1, Math.max(1, b - a - 1), lane.h - 2);
    if (b - a > 12) {
      ctx.fillStyle = theme.text;
      ctx.save();
      ctx.beginPath();
      ctx.rect(a, lane.y, b - a - 2, lane.h);
      ctx.clip();
      ctx.fillText(r.label, a + 3, lane.y + lane.h / 2);
      ctx.restore();
    }
  });
  ctx.restore();
}

/** The time axis: ticks and labels under the lanes. */
export function paintTimeAxis(ctx, lane, view, theme) {
  const span = view.t1 - view.t0;
  ctx.fillStyle = theme.text;
  ctx.strokeStyle = theme.grid;
  ctx.font = `11px ${theme.font}`;
  ctx.textBaseline = "top";
  ctx.textAlign = "center";
  for (const t of niceTicks(view.t0, view.t1, Math.max(2, Math.floor(lane.w / 90)))) {
    const px = lane.x + ((t - view.t0) / span) * lane.w;
    ctx.fillRect(px, lane.y, 1, 4);
    const text = timeText(t, span);
    const half = ctx.measureText(text).width / 2;
    ctx.fillText(text, Math.max(half + 1, Math.min(lane.x + lane.w + 5 - half, px)), lane.y + 6); // inside the canvas
  }
  ctx.textAlign = "left";
}

/** Frequency labels in the gutter of a spectrogram lane. */
export function paintFrequencyAxis(ctx, lane, scale, theme) {
  ctx.fillStyle = theme.text;
  ctx.font = `10px ${theme.font}`;
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  const ticks = frequencyTicks(scale, Math.max(2, Math.floor(lane.h / 34)));
  for (const f of ticks) {
    const py = lane.y + (1 - scale.toUnit(f)) * lane.h;
    if (py < lane.y + 5 || py > lane.y + lane.h - 3) continue;
    ctx.fillText(f >= 1000 ? `${+(f / 1000).toFixed(2)}k` : `${Math.round(f)}`, lane.x - 4, py);
    ctx.fillRect(lane.x - 3, py, 3, 1);
  }
  ctx.textAlign = "left";
}

/** Value labels in the gutter of a lane with a linear axis from lo (bottom) to hi (top). */
export function paintValueAxis(ctx, lane, lo, hi, theme, format = (v) => `${v}`) {
  ctx.fillStyle = theme.text;
  ctx.font = `10px ${theme.font}`;
  ctx.textAlign = "right";
  ctx.textBaseline = "middle";
  for (const v of niceTicks(lo, hi, Math.max(2, Math.floor(lane.h / 30)))) {
    const py = lane.y + (1 - (v - lo) / (hi - lo)) * lane.h;
    if (py < lane.y + 4 || py > lane.y + lane.h - 3) continue;
    ctx.fillText(format(v), lane.x - 4, py);
  }
  ctx.textAlign = "left";
}
