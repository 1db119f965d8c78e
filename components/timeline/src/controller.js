// One timeline widget: lanes on one time axis (per track: waveform and spectrogram of each
// channel, feature layers, labelled regions), zoom and pan, a readout under the cursor, a
// playhead tied to playback, overlays fetched on demand, and A/B playback of several tracks.
// Everything a user supplied is drawn on the canvas or set as textContent, never as HTML.

import { unpackBlocks, unpackList, unpackView } from "./data.js";
import {
  binRow, colourTable, columnIndex, levelTable, paintFrequencyAxis, paintGrid, paintLine, paintPeaks,
  paintRegions, paintTimeAxis, paintValueAxis, spectrogramRows,
} from "./draw.js";
import { frequencyScale, hzText, noteName, SCALES, timeText } from "./scales.js";

const GUTTER = 50;
const OVERLAYS = { pitch: "#00e5ff", centroid: "#ffd54f", loudness: "#ff6ec7" };
const THEME = {
  font: "system-ui, -apple-system, 'Segoe UI', 'Noto Sans CJK SC', sans-serif",
  text: "#374151", grid: "#9ca3af", wave: "#2563eb", waveB: "#d97706", back: "#f3f4f6",
  regionA: "rgba(37,99,235,0.18)", regionB: "rgba(16,185,129,0.20)", regionHover: "rgba(245,158,11,0.45)",
  cursor: "rgba(17,24,39,0.55)", playhead: "#dc2626", spanPlay: "rgba(220,38,38,0.12)",
};

/** The page's language: 1 for Chinese, 0 for English. */
function language() {
  const lang = (document.documentElement.lang || navigator.language || "en").toLowerCase();
  return lang.startsWith("zh") ? 1 : 0;
}

function el(tag, attrs = {}, text) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (k === "class") node.className = v; else node.setAttribute(k, v);
  }
  if (text !== undefined) node.textContent = text;
  return node;
}

const clamp = (v, lo, hi) => Math.max(lo, Math.min(hi, v));
const dbText = (db) => (isFinite(db) ? `${db.toFixed(1)} dB` : "−∞ dB");

export class Timeline {
  constructor(host, server) {
    this.host = host;
    this.server = server;
    this.lang = language();
    this.view = null;
    this.range = { t0: 0, t1: 1 };
    this.scale = "linear";
    this.cmap = "viridis";
    this.floor = -90;
    this.ceiling = 0;
    this.follow = true;
    this.shown = new Set();
    this.active = 0;
    this.players = [];
    this.playing = false;
    this.stopAt = null;
    this.sequence = null;
    this.tileSeq = 0;
    this.tilesReceived = 0;
    this.hover = null;
    this.keyCursor = null;
    this.width = 600;
    this.lanes = [];
    this.build();
  }

  nameOf(track) {
    return Array.isArray(track.name) ? track.name[this.lang] || track.name[0] : String(track.name);
  }

  s(key) {
    const pair = (this.view && this.view.strings && this.view.strings[key]) || null;
    return pair ? pair[this.lang] || pair[0] : key;
  }

  // --- DOM --------------------------------------------------------------------------------------

  build() {
    this.root = el("div", { class: "altl-root", role: "group", "data-loading": "false", "data-playing": "false" });
    this.root.timeline = this; // for tests and the console
    this.bar = el("div", { class: "altl-bar" });
    this.stage = el("div", { class: "altl-stage", tabindex: "0", role: "slider", "aria-valuemin": "0" });
    this.base = el("canvas", { class: "altl-base", "aria-hidden": "true" });
    this.top = el("canvas", { class: "altl-top", "aria-hidden": "true" });
    this.stage.append(this.base, this.top);
    this.readout = el("div", { class: "altl-readout", "aria-hidden": "true" });
    this.status = el("div", { class: "altl-status", role: "status", "aria-live": "polite" });
    this.help = el("div", { class: "altl-help" });
    this.empty = el("div", { class: "altl-empty" });
    this.root.append(this.bar, this.stage, this.readout, this.status, this.help, this.empty);
    this.host.replaceChildren(this.root);
    this.bindPointer();
    this.bindKeys();
    this.resizer = new ResizeObserver(() => this.resize());
    this.resizer.observe(this.root);
    this.setView(null);
  }

  button(key, onClick, cls = "") {
    const b = el("button", { type: "button", class: `altl-btn ${cls}`, "data-key": key, title: this.s(key) }, this.s(key));
    b.addEventListener("click", onClick);
    return b;
  }

  select(key, options, value, onChange) {
    const label = el("label", { class: "altl-field" });
    label.append(el("span", {}, this.s(key)));
    const sel = el("select", { "data-key": key, "aria-label": this.s(key) });
    for (const [v, text] of options) {
      const o = el("option", { value: v }, text);
      if (v === value) o.selected = true;
      sel.append(o);
    }
    sel.addEventListener("change", () => onChange(sel.value));
    label.append(sel);
    return label;
  }

  numberField(key, value, onChange) {
    const label = el("label", { class: "altl-field" });
    label.append(el("span", {}, this.s(key)));
    const input = el("input", { type: "number", step: "5", value: String(Math.round(value)), "data-key": key, "aria-label": this.s(key) });
    input.addEventListener("change", () => {
      const v = parseFloat(input.value);
      if (isFinite(v)) onChange(v);
    });
    label.append(input);
    return label;
  }

  checkbox(key, checked, onChange, colour) {
    const label = el("label", { class: "altl-check" });
    const box = el("input", { type: "checkbox", "data-key": key });
    box.checked = checked;
    box.addEventListener("change", () => onChange(box.checked));
    if (colour) label.style.setProperty("--altl-swatch", colour);
    label.append(box, el("span", { class: colour ? "altl-swatch" : "" }, this.s(key)));
    return label;
  }

  buildBar() {
    const bar = this.bar;
    bar.replaceChildren();
    if (!this.view) return;
    this.playBtn = this.button("tl_play", () => this.togglePlay(), "altl-play");
    const zoom = el("span", { class: "altl-group" });
    zoom.append(
      this.button("tl_zoom_out", () => this.zoomBy(2), "altl-zoom-out"),
      this.button("tl_zoom_in", () => this.zoomBy(0.5), "altl-zoom-in"),
      this.button("tl_fit", () => this.fit(), "altl-fit"),
    );
    this.clock = el("span", { class: "altl-clock", "aria-live": "off" });
    bar.append(this.playBtn, this.clock, zoom);
    bar.append(this.select("tl_scale", SCALES.map((k) => [k, this.s(`tl_${k}`)]), this.scale, (v) => { this.scale = v; this.draw(); }));
    const maps = Object.keys(this.view.colormaps).filter((m) => m !== "RdBu_r");
    bar.append(this.select("tl_colormap", maps.map((m) => [m, m === "gray" ? this.s("tl_grey") : m]), this.cmap, (v) => { this.cmap = v; this.draw(); }));
    bar.append(this.numberField("tl_floor", this.floor, (v) => { this.floor = Math.min(v, this.ceiling - 1); this.draw(); }));
    bar.append(this.numberField("tl_ceiling", this.ceiling, (v) => { this.ceiling = Math.max(v, this.floor + 1); this.draw(); }));
    bar.append(this.checkbox("tl_follow", this.follow, (v) => { this.follow = v; }));
    const overlays = el("span", { class: "altl-group altl-overlays", role: "group", "aria-label": this.s("tl_overlays") });
    overlays.append(el("span", { class: "altl-caption" }, this.s("tl_overlays")));
    for (const key of Object.keys(OVERLAYS)) {
      overlays.append(this.checkbox(`tl_${key}`, this.shown.has(key), (on) => this.toggleOverlay(key, on), OVERLAYS[key]));
    }
    bar.append(overlays);
    const playable = this.view.tracks.filter((t) => t.audio_url);
    if (playable.length >= 2) bar.append(this.abControls());
  }

  abControls() {
    const group = el("span", { class: "altl-group altl-ab", role: "radiogroup", "aria-label": this.s("tl_ab") });
    group.append(el("span", { class: "altl-caption" }, this.s("tl_ab")));
    this.abButtons = this.view.tracks.map((track, i) => {
      const b = el("button", { type: "button", class: "altl-btn altl-ab-btn", role: "radio", "data-track": String(i),
        "aria-checked": String(i === this.active) }, `${"ABCDEFGH"[i]} · ${this.nameOf(track)}`);
      b.addEventListener("click", () => this.switchTo(i));
      return b;
    });
    group.append(...this.abButtons, this.button("tl_a_then_b", () => this.playAThenB(), "altl-a-then-b"));
    if (this.view.tracks.every((t) => isFinite(t.lufs))) {
      group.append(this.checkbox("tl_match", false, (on) => { this.matchLoudness = on; this.applyGains(); }));
      this.gainNote = el("span", { class: "altl-gain" });
      group.append(this.gainNote);
    }
    if (this.view.tracks.some((t) => t.content_stretch && t.content_stretch !== 1)) {
      group.append(this.select("tl_align", [["time", this.s("tl_by_time")], ["content", this.s("tl_by_content")]], "time",
        (v) => this.align(v)));
    }
    return group;
  }

  // --- the view ---------------------------------------------------------------------------------

  async setView(view) {
    this.timings = { received: performance.now() }; // the value reached the page (benchmarks read these)
    this.stop();
    this.players.forEach((p) => p.removeAttribute("src"));
    this.players = [];
    this.tiles = [];
    if (!view || !view.tracks || !view.tracks.length) {
      this.view = null;
      this.root.dataset.empty = "true";
      this.empty.textContent = (view && view.strings && view.strings.tl_empty && view.strings.tl_empty[this.lang]) ||
        (this.lang ? "运行本页后，这里会显示声音。" : "Run the tab to see its sound here.");
      this.bar.replaceChildren();
      this.help.textContent = "";
      this.stage.hidden = true;
      this.readout.hidden = true;
      return;
    }
    await unpackView(view);
    this.view = view;
    this.root.dataset.empty = "false";
    this.root.dataset.viewId = view.id;
    this.empty.textContent = "";
    this.stage.hidden = false;
    this.readout.hidden = false;
    this.shown = new Set();
    const root = ((window.gradio_config && window.gradio_config.root) || "").replace(/\/$/, "");
    for (const t of view.tracks) {
      t.audio_url = t.audio ? `${root}/gradio_api/file=${encodeURI(t.audio)}` : null;
      t.stretch0 = t.stretch;
      t.overlayData = {};
      for (const o of t.overlays || []) { t.overlayData[o.key] = o; this.shown.add(o.key); }
    }
    const top = Math.max(...view.tracks.map((t) => t.spec.db_max));
    this.ceiling = Math.ceil(top / 5) * 5;
    this.floor = this.ceiling - 90;
    this.active = 0;
    this.range = { t0: 0, t1: view.duration || 1 };
    this.showRange();
    this.players = view.tracks.map((t, i) => this.player(t, i));
    this.root.setAttribute("aria-label", this.s("tl_label"));
    this.stage.setAttribute("aria-label", this.s("tl_canvas"));
    this.stage.setAttribute("aria-valuemax", view.duration.toFixed(3));
    this.help.textContent = this.s("tl_help");
    this.status.textContent = "";
    this.buildBar();
    this.resize();
    this.afterMove();
  }

  player(track, index) {
    const audio = new Audio();
    audio.preload = "auto";
    if (track.audio_url) audio.src = track.audio_url;
    audio.addEventListener("ended", () => this.onEnded(index));
    audio.addEventListener("pause", () => this.syncPlaying());
    audio.addEventListener("play", () => this.syncPlaying());
    return audio;
  }

  // --- geometry -----------------------------------------------------------------------------------

  resize() {
    const width = Math.max(240, Math.floor(this.root.clientWidth || this.host.clientWidth || 600));
    if (!this.view) return;
    this.width = width;
    this.layout();
    const dpr = window.devicePixelRatio || 1;
    for (const c of [this.base, this.top]) {
      c.width = Math.round(width * dpr);
      c.height = Math.round(this.height * dpr);
      c.style.width = `${width}px`;
      c.style.height = `${this.height}px`;
    }
    this.stage.style.height = `${this.height}px`;
    this.draw();
  }

  layout() {
    const phone = this.width < 520;
    const w = this.width - GUTTER - 6;
    const lanes = [];
    let y = 4;
    const add = (lane, h) => { lanes.push({ ...lane, x: GUTTER, y, w, h }); y += h + 3; };
    add({ kind: "overview" }, 22); // the whole clip, with the visible range: click or drag to move there
    this.view.tracks.forEach((track, ti) => {
      const channels = track.channels;
      for (let c = 0; c < channels; c++) add({ kind: "wave", track: ti, channel: c }, phone ? 44 : 56);
      for (let c = 0; c < channels; c++) add({ kind: "spec", track: ti, channel: c }, (phone ? 110 : 150) / (channels > 1 ? 1.3 : 1));
      (track.layers || []).forEach((layer, li) => {
        for (let c = 0; c < layer.data.length; c++) add({ kind: "layer", track: ti, channel: c, layer: li }, phone ? 90 : 130);
      });
      for (const tier of ["word", "char"]) {
        if ((track.regions || []).some((r) => r.tier === tier)) add({ kind: "regions", track: ti, tier }, 24);
      }
      y += 6;
    });
    add({ kind: "axis" }, 20);
    this.lanes = lanes;
    this.height = Math.ceil(y);
  }

  timeAt(px) {
    const lane = this.lanes[0];
    return this.range.t0 + ((px - lane.x) / lane.w) * (this.range.t1 - this.range.t0);
  }

  xAt(t) {
    const lane = this.lanes[0];
    return lane.x + ((t - this.range.t0) / (this.range.t1 - this.range.t0)) * lane.w;
  }

  laneAt(y) {
    return this.lanes.find((l) => y >= l.y && y < l.y + l.h) || null;
  }

  frequencyScale(track) {
    return frequencyScale(this.scale, track.sample_rate / 2, 0);
  }

  // --- zoom, pan ----------------------------------------------------------------------------------

  minSpan() {
    const rate = Math.max(...this.view.tracks.map((t) => t.sample_rate));
    return Math.max(32 / rate, 0.0005);
  }

  setRange(t0, t1) {
    const duration = this.view.duration;
    let span = clamp(t1 - t0, this.minSpan(), duration);
    t0 = clamp(t0, 0, duration - span);
    this.range = { t0, t1: t0 + span };
    this.showRange();
    this.draw();
    this.requestTiles();
  }

  zoomBy(factor, at) {
    const { t0, t1 } = this.range;
    const centre = at ?? (this.playing ? this.playheadTime() : (t0 + t1) / 2);
    const span = (t1 - t0) * factor;
    const u = clamp((centre - t0) / (t1 - t0), 0, 1);
    this.setRange(centre - u * span, centre - u * span + span);
  }

  panBy(seconds) {
    const { t0, t1 } = this.range;
    this.setRange(t0 + seconds, t1 + seconds);
  }

  fit() {
    this.setRange(0, this.view.duration);
  }

  // --- tiles (detail when zoomed in) ----------------------------------------------------------------

  needsTile(track) {
    const span = (this.range.t1 - this.range.t0) / track.stretch;
    const w = this.lanes[0].w;
    return track.spec.dt > (span / w) * 1.01 || track.peaks.dt > span / w / 2;
  }

  requestTiles() {
    clearTimeout(this.tileTimer);
    this.root.dataset.loading = "true";
    this.tileTimer = setTimeout(() => this.fetchTiles(), 120);
  }

  async fetchTiles() {
    if (!this.view || !this.server || !this.server.timeline_tile) return;
    const seq = ++this.tileSeq;
    const jobs = this.view.tracks.map(async (track, i) => {
      if (!this.needsTile(track)) { this.tiles[i] = null; return; }
      const a = Math.max(0, (this.range.t0 - track.offset) / track.stretch);
      const b = Math.min(track.duration, (this.range.t1 - track.offset) / track.stretch);
      if (!(b > a)) return;
      const have = this.tiles[i];
      if (have && have.a <= a && have.b >= b && have.cols >= this.lanes[0].w && have.span <= (b - a) * 1.5) return;
      const result = await this.server.timeline_tile({ id: this.view.id, track: i, t0: a, t1: b, cols: Math.round(this.lanes[0].w) });
      if (seq !== this.tileSeq || !this.view) return;
      if (result && result.error) { this.showError(result.error); return; }
      await unpackBlocks(result);
      this.tiles[i] = { a, b, span: b - a, cols: result.spec.cols, spec: result.spec, peaks: result.peaks };
      this.tilesReceived++;
    });
    this.root.dataset.loading = "true";
    this.status.textContent = this.s("tl_loading");
    try {
      await Promise.all(jobs);
    } catch (err) {
      this.showError(["The detail could not be computed.", "无法计算细节。"]);
    }
    if (seq === this.tileSeq) {
      this.root.dataset.loading = "false";
      this.root.dataset.tiles = String(this.tilesReceived);
      if (this.status.textContent === this.s("tl_loading")) this.status.textContent = "";
      this.draw();
    }
  }

  showError(pair) {
    this.status.textContent = Array.isArray(pair) ? pair[this.lang] || pair[0] : String(pair);
    this.root.dataset.error = this.status.textContent;
  }

  // --- overlays -----------------------------------------------------------------------------------

  async toggleOverlay(key, on) {
    if (!on) { this.shown.delete(key); this.draw(); return; }
    this.shown.add(key);
    if (key === "pitch" && this.scale === "linear") {
      // f0 lives in the bottom tenth of a linear axis: show it on a log axis, as pitch tools do
      this.scale = "log";
      const select = this.bar.querySelector("select[data-key=tl_scale]");
      if (select) select.value = "log";
    }
    const missing = this.view.tracks.map((t, i) => [t, i]).filter(([t]) => !t.overlayData[key]);
    if (missing.length) {
      this.root.dataset.loading = "true";
      this.status.textContent = this.s("tl_loading");
      for (const [track, i] of missing) {
        const result = await this.server.timeline_overlay({ id: this.view.id, track: i, key });
        if (result && result.error) { this.showError(result.error); continue; }
        await unpackList(result, "float32");
        track.overlayData[key] = result;
      }
      this.root.dataset.loading = "false";
      if (this.status.textContent === this.s("tl_loading")) this.status.textContent = "";
    }
    this.root.dataset.overlays = [...this.shown].join(" ");
    this.draw();
  }

  // --- drawing ------------------------------------------------------------------------------------

  draw() {
    if (this.drawQueued) return;
    this.drawQueued = true;
    requestAnimationFrame(() => {
      this.drawQueued = false;
      this.paintBase();
      this.paintTop();
    });
  }

  /** `canvas`'s context in CSS pixels, cleared. */
  cleared(canvas) {
    const ctx = canvas.getContext("2d");
    const dpr = window.devicePixelRatio || 1;
    ctx.setTransform(dpr, 0, 0, dpr, 0, 0);
    ctx.clearRect(0, 0, this.width, this.height);
    return ctx;
  }

  paintBase() {
    if (!this.view) return;
    const ctx = this.cleared(this.base);
    ctx.imageSmoothingEnabled = false;
    const colours = colourTable(this.view.colormaps[this.cmap] || this.view.colormaps.viridis);
    for (const lane of this.lanes) {
      const track = this.view.tracks[lane.track];
      if (lane.kind === "axis") { paintTimeAxis(ctx, lane, this.range, THEME); continue; }
      if (lane.kind === "overview") { this.paintOverview(ctx, lane); continue; }
      ctx.fillStyle = THEME.back;
      ctx.fillRect(lane.x, lane.y, lane.w, lane.h);
      if (lane.kind === "wave") this.paintWave(ctx, lane, track);
      else if (lane.kind === "spec") this.paintSpec(ctx, lane, track, colours);
      else if (lane.kind === "layer") this.paintLayer(ctx, lane, track);
      else if (lane.kind === "regions") paintRegions(ctx, lane, this.range, track, this.tierRegions(track, lane.tier), this.hoverRegion(lane), THEME);
      this.paintLaneLabel(ctx, lane, track);
    }
    const d = this.root.dataset;
    d.scale = this.scale;
    d.cmap = this.cmap;
    d.floor = String(this.floor);
    d.ceiling = String(this.ceiling);
    d.drawn = String((+d.drawn || 0) + 1);
    if (this.timings && !this.timings.painted) this.timings.painted = performance.now();
  }

  paintOverview(ctx, lane) {
    const track = this.view.tracks[0];
    const whole = { t0: 0, t1: this.view.duration };
    ctx.fillStyle = "#e5e7eb";
    ctx.fillRect(lane.x, lane.y, lane.w, lane.h);
    ctx.save();
    ctx.beginPath();
    ctx.rect(lane.x, lane.y, lane.w, lane.h);
    ctx.clip();
    paintPeaks(ctx, lane, whole, track, track.peaks, 0, "#6b7280");
    ctx.restore();
    const a = lane.x + (this.range.t0 / whole.t1) * lane.w, b = lane.x + (this.range.t1 / whole.t1) * lane.w;
    ctx.fillStyle = "rgba(37,99,235,0.18)";
    ctx.fillRect(a, lane.y, Math.max(2, b - a), lane.h);
    ctx.strokeStyle = "#2563eb";
    ctx.lineWidth = 1;
    ctx.strokeRect(a + 0.5, lane.y + 0.5, Math.max(2, b - a) - 1, lane.h - 1);
  }

  /** Centre the visible range on the time under overview pixel `px`. */
  overviewTo(px) {
    const lane = this.lanes[0];
    const t = ((px - lane.x) / lane.w) * this.view.duration;
    const span = this.range.t1 - this.range.t0;
    this.setRange(t - span / 2, t + span / 2);
  }

  /** The visible range as data attributes, as soon as it changes (tests and scripts read them). */
  showRange() {
    this.root.dataset.t0 = this.range.t0.toFixed(4);
    this.root.dataset.t1 = this.range.t1.toFixed(4);
  }

  tierRegions(track, tier) {
    return (track.regions || []).filter((r) => r.tier === tier);
  }

  hoverRegion(lane) {
    return this.hover && this.hover.lane === lane && this.hover.region != null ? this.hover.region : -1;
  }

  paintLaneLabel(ctx, lane, track) {
    let text = "";
    if (lane.kind === "wave" && lane.channel === 0) {
      text = this.view.tracks.length > 1 ? `${"ABCDEFGH"[lane.track]} · ${this.nameOf(track)}` : this.nameOf(track);
    } else if (lane.kind === "layer") {
      const layer = track.layers[lane.layer];
      text = `${layer.name}${layer.unit ? ` (${layer.unit})` : ""}`;
    } else if (lane.kind === "regions") {
      text = this.s(lane.tier === "word" ? "tl_words" : "tl_chars");
    }
    if (track.channels > 1 && (lane.kind === "wave" || lane.kind === "spec")) text += `${text ? " · " : ""}${this.s("tl_channel")} ${lane.channel}`;
    if (!text) return;
    ctx.font = `11px ${THEME.font}`;
    ctx.textBaseline = "top";
    const width = ctx.measureText(text).width;
    const x = lane.kind === "regions" ? 2 : lane.x + 4;
    const y = lane.kind === "regions" ? lane.y + 6 : lane.y + 3;
    if (lane.kind === "regions") {
      ctx.fillStyle = THEME.text;
      ctx.fillText(text.slice(0, 7), x, y);
      return;
    }
    ctx.fillStyle = "rgba(255,255,255,0.8)";
    ctx.fillRect(x - 2, y - 1, width + 4, 14);
    ctx.fillStyle = "#111827";
    ctx.fillText(text, x, y);
  }

  paintWave(ctx, lane, track) {
    const tile = this.tiles[lane.track];
    const span = (this.range.t1 - this.range.t0) / track.stretch;
    const a = (this.range.t0 - track.offset) / track.stretch;
    const useTile = tile && tile.a <= a + 1e-9 && tile.b >= Math.min(track.duration, a + span) - 1e-9 && tile.peaks.dt < track.peaks.dt;
    ctx.fillStyle = THEME.grid;
    ctx.fillRect(lane.x, lane.y + lane.h / 2, lane.w, 1);
    const colour = lane.track % 2 ? THEME.waveB : THEME.wave;
    ctx.save();
    ctx.beginPath();
    ctx.rect(lane.x, lane.y, lane.w, lane.h);
    ctx.clip();
    paintPeaks(ctx, lane, this.range, track, useTile ? tile.peaks : track.peaks, lane.channel, colour);
    ctx.restore();
  }

  paintSpec(ctx, lane, track, colours) {
    const scale = this.frequencyScale(track);
    const image = new ImageData(Math.max(1, Math.round(lane.w)), Math.max(1, Math.round(lane.h)));
    const background = colours[0] & 0x00ffffff | 0xff000000;
    this.specBlocks(lane.track).forEach((spec, i) => {
      const table = levelTable(colours, spec.db_min, spec.db_max, this.floor, this.ceiling);
      const cols = columnIndex(image.width, this.range, track, spec, false);
      const rows = spectrogramRows(image.height, scale, spec, track);
      paintGrid(image, spec.data[lane.channel], spec.cols, cols, rows, table, i === 0 ? background : null);
    });
    this.blit(ctx, image, lane);
    for (const key of ["pitch", "centroid"]) {
      const o = track.overlayData[key];
      if (this.shown.has(key) && o) {
        paintLine(ctx, lane, this.range, track, o, lane.channel, (f) => lane.y + (1 - scale.toUnit(f)) * lane.h, OVERLAYS[key]);
      }
    }
    const loud = track.overlayData.loudness;
    if (this.shown.has("loudness") && loud) {
      const lo = Math.floor(loud.min) - 3, hi = Math.ceil(loud.max) + 3;
      paintLine(ctx, lane, this.range, track, loud, lane.channel, (v) => lane.y + (1 - (v - lo) / (hi - lo)) * lane.h, OVERLAYS.loudness);
      ctx.save();
      ctx.fillStyle = OVERLAYS.loudness;
      ctx.font = `10px ${THEME.font}`;
      ctx.textAlign = "right";
      ctx.fillText(`${hi} LUFS`, lane.x + lane.w - 4, lane.y + 10);
      ctx.fillText(`${lo} LUFS`, lane.x + lane.w - 4, lane.y + lane.h - 6);
      ctx.restore();
    }
    paintFrequencyAxis(ctx, lane, scale, THEME);
    ctx.fillStyle = THEME.text;
    ctx.font = `10px ${THEME.font}`;
    ctx.textBaseline = "top";
    ctx.fillText("Hz", 4, lane.y + 1);
  }

  paintLayer(ctx, lane, track) {
    const layer = track.layers[lane.layer];
    const colours = colourTable(this.view.colormaps[layer.cmap] || this.view.colormaps.viridis);
    const image = new ImageData(Math.max(1, Math.round(lane.w)), Math.max(1, Math.round(lane.h)));
    const cols = columnIndex(image.width, this.range, track, layer, true);
    const rows = new Int32Array(image.height);
    for (let y = 0; y < image.height; y++) rows[y] = clamp(Math.floor((1 - (y + 0.5) / image.height) * layer.rows), 0, layer.rows - 1);
    const identity = new Uint32Array(256).map((_, q) => colours[q]);
    paintGrid(image, layer.data[lane.channel], layer.cols, cols, rows, identity, colours[0] & 0x00ffffff | 0xff000000);
    this.blit(ctx, image, lane);
    if (layer.row_labels && layer.row_labels.length === layer.rows && lane.h / layer.rows >= 9) {
      ctx.fillStyle = THEME.text;
      ctx.font = `9px ${THEME.font}`;
      ctx.textAlign = "right";
      ctx.textBaseline = "middle";
      layer.row_labels.forEach((label, r) => ctx.fillText(label.slice(0, 6), lane.x - 4, lane.y + (1 - (r + 0.5) / layer.rows) * lane.h));
      ctx.textAlign = "left";
    } else if (layer.row_hz && layer.row_hz.length === layer.rows) {
      const hz = (v) => layer.row_hz[clamp(Math.round(v), 0, layer.rows - 1)];
      paintValueAxis(ctx, lane, 0, layer.rows, THEME, (v) => (hz(v) >= 1000 ? `${+(hz(v) / 1000).toFixed(1)}k` : `${Math.round(hz(v))}`));
    } else {
      paintValueAxis(ctx, lane, 0, layer.rows, THEME, (v) => `${Math.round(v)}`);
    }
  }

  blit(ctx, image, lane) {
    if (!this.scratch) this.scratch = document.createElement("canvas");
    const c = this.scratch;
    if (c.width !== image.width || c.height !== image.height) { c.width = image.width; c.height = image.height; }
    c.getContext("2d").putImageData(image, 0, 0);
    ctx.drawImage(c, lane.x, lane.y, lane.w, lane.h);
  }

  paintTop() {
    if (!this.view) return;
    const ctx = this.cleared(this.top);
    const body = this.lanes.filter((l) => l.kind !== "axis" && l.kind !== "overview");
    const yTop = body[0].y, yBottom = body[body.length - 1].y + body[body.length - 1].h;
    if (this.stopAt) {
      const a = this.xAt(this.stopAt.from), b = this.xAt(this.stopAt.until);
      ctx.fillStyle = THEME.spanPlay;
      ctx.fillRect(a, yTop, Math.max(1, b - a), yBottom - yTop);
    }
    const cursor = this.hover ? this.hover.t : this.keyCursor;
    if (cursor != null && cursor >= this.range.t0 && cursor <= this.range.t1) {
      ctx.fillStyle = THEME.cursor;
      ctx.fillRect(Math.round(this.xAt(cursor)), yTop, 1, yBottom - yTop);
      if (this.hover && this.hover.lane && this.hover.lane.kind === "spec") {
        ctx.fillRect(this.hover.lane.x, Math.round(this.hover.y), this.hover.lane.w, 1);
      }
    }
    const t = this.playheadTime();
    if (t >= this.range.t0 && t <= this.range.t1) {
      ctx.fillStyle = THEME.playhead;
      ctx.fillRect(Math.round(this.xAt(t)) - 1, yTop, 2, yBottom - yTop);
    }
  }

  // --- readout --------------------------------------------------------------------------------------

  readAt(t, lane, y) {
    const out = { time: t, lane: lane ? lane.kind : "", parts: [`${this.s("tl_time")} ${timeText(t, this.range.t1 - this.range.t0)}`] };
    const track = lane && lane.track != null ? this.view.tracks[lane.track] : this.view.tracks[this.active];
    const tt = (t - track.offset) / track.stretch;
    out.track = lane && lane.track != null ? lane.track : this.active;
    if (this.view.tracks.length > 1) out.parts.push(`${this.s("tl_track")} ${"ABCDEFGH"[out.track]}`);
    if (lane && lane.kind === "spec") {
      const scale = this.frequencyScale(track);
      const f = scale.fromUnit(1 - (y - lane.y) / lane.h);
      const db = this.levelAt(track, lane.channel, tt, f);
      out.freq = f;
      out.db = db;
      out.parts.push(`${this.s("tl_freq")} ${hzText(f)} (${noteName(f)})`, `${this.s("tl_level")} ${dbText(db)}`);
    } else if (lane && lane.kind === "wave") {
      const peak = this.peakAt(track, lane.channel, tt);
      out.db = peak;
      out.parts.push(`${this.s("tl_peak")} ${dbText(peak)}FS`);
    } else if (lane && lane.kind === "layer") {
      const layer = track.layers[lane.layer];
      const row = clamp(Math.floor((1 - (y - lane.y) / lane.h) * layer.rows), 0, layer.rows - 1);
      const k = Math.round((tt - layer.t0) / layer.dt);
      if (k >= 0 && k < layer.cols) {
        const q = layer.data[lane.channel][row * layer.cols + k];
        const value = layer.vmin + (q * (layer.vmax - layer.vmin)) / 255;
        out.value = value;
        out.row = row;
        const rowName = layer.row_labels ? layer.row_labels[row] : `${layer.row_name} ${row}`;
        out.parts.push(rowName + (layer.row_hz ? ` (${hzText(layer.row_hz[row])})` : ""), `${this.s("tl_value")} ${value.toPrecision(4)}${layer.unit ? ` ${layer.unit}` : ""}`);
      }
    } else if (lane && lane.kind === "regions") {
      const regions = this.tierRegions(track, lane.tier);
      const index = regions.findIndex((r) => tt >= r.start && tt < r.end);
      out.region = index >= 0 ? index : null;
      if (index >= 0) {
        const r = regions[index];
        out.label = r.label;
        out.parts.push(`“${r.label}” ${r.start.toFixed(2)}–${r.end.toFixed(2)} s`, `${this.s("tl_play_span")} ↵`);
      }
    }
    const channel = lane && lane.channel != null ? lane.channel : 0;
    for (const key of this.shown) {
      const o = track.overlayData[key];
      if (!o) continue;
      const values = o.data[Math.min(channel, o.data.length - 1)];
      const k = Math.round((tt - o.t0) / o.dt);
      if (k < 0 || k >= values.length) continue;
      const v = values[k];
      const name = this.s(`tl_${key}`);
      if (!isFinite(v)) out.parts.push(`${name} ${this.s("tl_unvoiced")}`);
      else if (o.unit === "Hz") out.parts.push(`${name} ${hzText(v)}${key === "pitch" ? ` (${noteName(v)})` : ""}`);
      else out.parts.push(`${name} ${v.toFixed(1)} ${o.unit}`);
      out[key] = v;
    }
    return out;
  }

  /** A track's spectrogram blocks, coarse to fine: the overview, then the zoom tile when it is finer. */
  specBlocks(index) {
    const track = this.view.tracks[index];
    const tile = this.tiles[index];
    return tile && tile.spec.dt < track.spec.dt ? [track.spec, tile.spec] : [track.spec];
  }

  levelAt(track, channel, tt, f) {
    for (const spec of this.specBlocks(this.view.tracks.indexOf(track)).reverse()) {
      const k = Math.floor((tt - spec.t0) / spec.dt);
      if (k < 0 || k >= spec.cols) continue;
      const bin = Math.round(f / (track.sample_rate / track.n_fft));
      const row = binRow(bin, spec);
      const q = spec.data[channel][row * spec.cols + k];
      return spec.db_min + (q * (spec.db_max - spec.db_min)) / 255;
    }
    return NaN;
  }

  peakAt(track, channel, tt) {
    const tile = this.tiles[this.view.tracks.indexOf(track)];
    const peaks = tile && tile.peaks.dt < track.peaks.dt && tt >= tile.a && tt <= tile.b ? tile.peaks : track.peaks;
    const halfPixel = ((this.range.t1 - this.range.t0) / track.stretch / this.lanes[0].w) / 2;
    const k0 = Math.max(0, Math.floor((tt - halfPixel - peaks.t0) / peaks.dt));
    const k1 = Math.min(peaks.cols, Math.max(k0 + 1, Math.ceil((tt + halfPixel - peaks.t0) / peaks.dt)));
    let m = 0;
    const data = peaks.data[channel];
    for (let k = k0; k < k1; k++) m = Math.max(m, Math.abs(data[2 * k]), Math.abs(data[2 * k + 1]));
    return 20 * Math.log10(m / 32767);
  }

  showReadout(info) {
    const r = this.readout;
    r.textContent = info ? info.parts.join(" · ") : "";
    const d = r.dataset;
    for (const key of ["time", "freq", "db", "value", "label", "lane", "track", "pitch", "centroid", "loudness", "row"]) {
      const v = info ? info[key] : undefined;
      if (v === undefined || v === null) delete d[key];
      else d[key] = typeof v === "number" ? (isFinite(v) ? String(+v.toFixed(4)) : "nan") : String(v);
    }
    if (info) this.stage.setAttribute("aria-valuetext", r.textContent);
  }

  // --- pointer ----------------------------------------------------------------------------------------

  point(event) {
    const box = this.stage.getBoundingClientRect();
    return { x: event.clientX - box.left, y: event.clientY - box.top };
  }

  bindPointer() {
    const stage = this.stage;
    const pointers = new Map();
    let drag = null;
    stage.addEventListener("pointerdown", (e) => {
      if (!this.view) return;
      stage.focus({ preventScroll: true });
      pointers.set(e.pointerId, this.point(e));
      stage.setPointerCapture(e.pointerId);
      if (pointers.size === 2) {
        const [a, b] = [...pointers.values()];
        drag = { pinch: Math.abs(a.x - b.x) || 1, range: { ...this.range }, centre: this.timeAt((a.x + b.x) / 2) };
      } else {
        const p = this.point(e);
        const lane = this.laneAt(p.y);
        drag = { x: p.x, y: p.y, range: { ...this.range }, moved: false, overview: lane && lane.kind === "overview" };
        if (drag.overview) this.overviewTo(p.x);
      }
    });
    stage.addEventListener("pointermove", (e) => {
      if (!this.view) return;
      const p = this.point(e);
      if (pointers.has(e.pointerId)) pointers.set(e.pointerId, p);
      if (drag && drag.pinch && pointers.size === 2) {
        const [a, b] = [...pointers.values()];
        const factor = drag.pinch / (Math.abs(a.x - b.x) || 1);
        const span = (drag.range.t1 - drag.range.t0) * factor;
        const u = (drag.centre - drag.range.t0) / (drag.range.t1 - drag.range.t0);
        this.setRange(drag.centre - u * span, drag.centre - u * span + span);
        return;
      }
      if (drag && drag.overview && pointers.size === 1) {
        this.overviewTo(p.x);
        return;
      }
      if (drag && !drag.pinch && pointers.size === 1) {
        const dx = p.x - drag.x;
        if (Math.abs(dx) > 4) drag.moved = true;
        if (drag.moved) {
          const perPx = (drag.range.t1 - drag.range.t0) / this.lanes[0].w;
          this.setRange(drag.range.t0 - dx * perPx, drag.range.t1 - dx * perPx);
        }
      }
      this.hoverAt(p);
    });
    const end = (e) => {
      const p = this.point(e);
      const wasTap = drag && !drag.pinch && !drag.moved && !drag.overview && pointers.size === 1;
      pointers.delete(e.pointerId);
      if (wasTap && e.type === "pointerup") this.click(p, e);
      if (pointers.size === 0) drag = null;
    };
    stage.addEventListener("pointerup", end);
    stage.addEventListener("pointercancel", end);
    stage.addEventListener("pointerleave", () => { this.hover = null; this.showReadout(null); this.paintTop(); });
    stage.addEventListener("dblclick", (e) => { e.preventDefault(); if (this.view) this.fit(); });
    stage.addEventListener("wheel", (e) => {
      if (!this.view) return;
      e.preventDefault();
      const p = this.point(e);
      const unit = e.deltaMode === 1 ? 16 : e.deltaMode === 2 ? 400 : 1;
      const dx = (e.shiftKey ? e.deltaY : e.deltaX) * unit, dy = e.shiftKey ? 0 : e.deltaY * unit;
      if (Math.abs(dx) > Math.abs(dy)) {
        this.panBy((dx / this.lanes[0].w) * (this.range.t1 - this.range.t0));
      } else if (dy) {
        this.zoomBy(Math.exp(clamp(dy, -300, 300) * (e.ctrlKey ? 0.01 : 0.002)), this.timeAt(p.x));
      }
      this.hoverAt(p);
    }, { passive: false });
  }

  hoverAt(p) {
    const lane = this.laneAt(p.y);
    if (!lane || lane.kind === "axis" || lane.kind === "overview" || p.x < lane.x || p.x > lane.x + lane.w) {
      this.hover = null;
      this.showReadout(null);
      this.paintTop();
      return;
    }
    const t = this.timeAt(p.x);
    const info = this.readAt(t, lane, p.y);
    const previous = this.hover && this.hover.region;
    this.hover = { t, y: p.y, lane, region: info.region };
    this.showReadout(info);
    if (lane.kind === "regions" && previous !== info.region) this.paintBase();
    this.paintTop();
  }

  click(p) {
    const lane = this.laneAt(p.y);
    if (!lane || p.x < this.lanes[0].x) return;
    const t = this.timeAt(p.x);
    if (lane.kind === "regions") {
      const track = this.view.tracks[lane.track];
      const tt = (t - track.offset) / track.stretch;
      const region = this.tierRegions(track, lane.tier).find((r) => tt >= r.start && tt < r.end);
      if (region) { this.playSpan(lane.track, region.start, region.end); return; }
    }
    this.seek(t);
  }

  // --- keyboard ---------------------------------------------------------------------------------------

  bindKeys() {
    this.stage.addEventListener("keydown", (e) => {
      if (!this.view || e.altKey || e.metaKey) return;
      const span = this.range.t1 - this.range.t0;
      const here = this.keyCursor ?? this.playheadTime();
      let handled = true;
      switch (e.key) {
        case " ": this.togglePlay(); break;
        case "ArrowLeft": case "ArrowRight": {
          const step = (e.shiftKey ? 0.1 : 0.01) * span * (e.key === "ArrowLeft" ? -1 : 1);
          this.moveKeyCursor(clamp(here + step, 0, this.view.duration));
          break;
        }
        case "Home": this.moveKeyCursor(0); this.seek(0); break;
        case "End": this.moveKeyCursor(this.view.duration); break;
        case "Enter": this.seek(here); this.togglePlay(true); break;
        case "+": case "=": this.zoomBy(0.5, this.keyCursor ?? undefined); break;
        case "-": case "_": this.zoomBy(2, this.keyCursor ?? undefined); break;
        case "0": this.fit(); break;
        default: {
          const index = "abcdefgh".indexOf(e.key.toLowerCase());
          if (index >= 0 && index < this.view.tracks.length && this.view.tracks.length > 1) this.switchTo(index);
          else handled = false;
        }
      }
      if (handled) e.preventDefault();
    });
  }

  moveKeyCursor(t) {
    this.keyCursor = t;
    const span = this.range.t1 - this.range.t0;
    if (t < this.range.t0 || t > this.range.t1) this.setRange(t - span / 2, t + span / 2);
    const lane = this.lanes.find((l) => l.kind === "wave" && l.track === this.active);
    const info = this.readAt(t, lane, lane ? lane.y + lane.h / 2 : 0);
    this.root.dataset.cursor = t.toFixed(4);
    this.stage.setAttribute("aria-valuenow", t.toFixed(3));
    this.showReadout(info);
    this.paintTop();
  }

  // --- playback ---------------------------------------------------------------------------------------

  get current() {
    return this.players[this.active];
  }

  playheadTime() {
    const track = this.view ? this.view.tracks[this.active] : null;
    const player = this.current;
    if (!track || !player) return 0;
    return track.offset + (player.currentTime || 0) * track.stretch;
  }

  trackTime(index, t) {
    const track = this.view.tracks[index];
    return clamp((t - track.offset) / track.stretch, 0, track.duration);
  }

  seek(t) {
    if (!this.view) return;
    this.stopAt = null;
    this.sequence = null;
    const player = this.current;
    if (player) player.currentTime = this.trackTime(this.active, t);
    this.keyCursor = null;
    this.afterMove();
  }

  afterMove() {
    const now = this.playheadTime();
    this.root.dataset.current = now.toFixed(4);
    if (this.clock) this.clock.textContent = `${timeText(now, 1)} / ${timeText(this.view.duration, 1)}`;
    this.stage.setAttribute("aria-valuenow", (this.keyCursor ?? now).toFixed(3));
    this.paintTop();
  }

  async togglePlay(forcePlay = false) {
    const player = this.current;
    if (!player || !player.src) { this.showError(["This track has no audio to play.", "此音轨没有可播放的音频。"]); return; }
    if (!player.paused && !forcePlay) { player.pause(); this.stopAt = null; this.sequence = null; return; }
    try {
      await this.ensureGraph();
      await player.play();
    } catch (err) {
      this.showError(["The browser did not start playback.", "浏览器未能开始播放。"]);
    }
  }

  stop() {
    this.players.forEach((p) => p.pause());
    this.stopAt = null;
    this.sequence = null;
  }

  async switchTo(index) {
    if (!this.view || index === this.active || index >= this.players.length) return;
    const t = this.playheadTime();
    const from = this.current;
    const wasPlaying = from && !from.paused;
    if (from) from.pause();
    this.active = index;
    const to = this.current;
    to.currentTime = this.trackTime(index, t);
    (this.abButtons || []).forEach((b, i) => b.setAttribute("aria-checked", String(i === index)));
    this.root.dataset.active = String(index);
    this.afterMove();
    if (wasPlaying) {
      await this.ensureGraph();
      await to.play().catch(() => {});
    }
  }

  async playSpan(index, start, end) {
    this.stop();
    if (index !== this.active) await this.switchTo(index);
    const track = this.view.tracks[index];
    this.current.currentTime = start;
    this.stopAt = { index, until: track.offset + end * track.stretch, from: track.offset + start * track.stretch, end };
    this.root.dataset.span = `${start.toFixed(3)}-${end.toFixed(3)}`;
    await this.ensureGraph();
    await this.current.play().catch(() => this.showError(["The browser did not start playback.", "浏览器未能开始播放。"]));
  }

  async playAThenB() {
    this.stop();
    const { t0, t1 } = this.range;
    const order = this.view.tracks.map((_, i) => i).filter((i) => this.view.tracks[i].audio_url);
    this.sequence = { order, at: 0, t0, t1 };
    await this.startSequenceItem();
  }

  async startSequenceItem() {
    const seq = this.sequence;
    if (!seq || seq.at >= seq.order.length) { this.sequence = null; return; }
    const index = seq.order[seq.at];
    if (index !== this.active) await this.switchTo(index);
    const track = this.view.tracks[index];
    const start = this.trackTime(index, seq.t0), end = this.trackTime(index, seq.t1);
    this.current.currentTime = start;
    this.stopAt = { index, from: track.offset + start * track.stretch, until: track.offset + end * track.stretch, end, sequence: true };
    this.sequence = seq;
    await this.ensureGraph();
    await this.current.play().catch(() => {});
  }

  onEnded(index) {
    if (index !== this.active) return;
    if (this.sequence) { this.sequence.at++; this.startSequenceItem(); return; }
    this.stopAt = null;
    this.syncPlaying();
  }

  syncPlaying() {
    const playing = this.players.some((p) => !p.paused);
    this.playing = playing;
    this.root.dataset.playing = String(playing);
    if (this.playBtn) {
      this.playBtn.textContent = this.s(playing ? "tl_pause" : "tl_play");
      this.playBtn.setAttribute("aria-pressed", String(playing));
    }
    if (playing && !this.ticking) { this.ticking = true; requestAnimationFrame(() => this.tick()); }
  }

  tick() {
    if (!this.view || !this.playing) { this.ticking = false; this.afterMove(); return; }
    const player = this.current;
    if (this.stopAt && player && player.currentTime >= this.stopAt.end) {
      player.pause();
      player.currentTime = this.stopAt.end;
      const seq = this.stopAt.sequence && this.sequence;
      this.stopAt = null;
      if (seq) { this.sequence.at++; this.startSequenceItem(); }
    }
    const t = this.playheadTime();
    const { t0, t1 } = this.range;
    const span = t1 - t0;
    if (this.follow && span < this.view.duration - 1e-9 && (t > t1 - 0.02 * span || t < t0)) {
      this.setRange(t - 0.05 * span, t + 0.95 * span);
    }
    this.afterMove();
    requestAnimationFrame(() => this.tick());
  }

  // --- loudness matching and alignment (A/B) ----------------------------------------------------------

  async ensureGraph() {
    if (!this.matchLoudness || this.graph) return;
    const context = new AudioContext();
    this.graph = { context, gains: this.players.map((p) => {
      const gain = context.createGain();
      context.createMediaElementSource(p).connect(gain).connect(context.destination);
      return gain;
    }) };
    this.applyGains();
    if (context.state === "suspended") await context.resume();
  }

  async applyGains() {
    const tracks = this.view.tracks;
    const reference = tracks[0].lufs;
    const gains = tracks.map((t) => (this.matchLoudness ? reference - t.lufs : 0));
    if (this.matchLoudness) await this.ensureGraph();
    if (this.graph) this.graph.gains.forEach((g, i) => { g.gain.value = 10 ** (gains[i] / 20); });
    this.root.dataset.gains = gains.map((g) => g.toFixed(2)).join(" ");
    if (this.gainNote) {
      this.gainNote.textContent = this.matchLoudness
        ? tracks.slice(1).map((t, i) => `${"BCDEFGH"[i]}: ${this.s("tl_gain")} ${gains[i + 1] >= 0 ? "+" : ""}${gains[i + 1].toFixed(1)} dB`).join(", ")
        : "";
    }
  }

  align(mode) {
    this.view.tracks.forEach((t) => { t.stretch = mode === "content" && t.content_stretch ? t.content_stretch : t.stretch0; });
    this.view.duration = Math.max(...this.view.tracks.map((t) => t.offset + t.duration * t.stretch));
    this.root.dataset.align = mode;
    this.tiles = [];
    this.fit();
  }
}
