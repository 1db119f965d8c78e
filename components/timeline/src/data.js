// Unpacking the server's arrays: base64 of zlib-deflated little-endian bytes.

/** Decode base64 text into bytes. */
export function base64Bytes(text) {
  const binary = atob(text);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

/** Inflate zlib bytes with the browser's DecompressionStream. */
export async function inflate(bytes) {
  const stream = new Blob([bytes]).stream().pipeThrough(new DecompressionStream("deflate"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

const TYPES = { uint8: Uint8Array, int16: Int16Array, float32: Float32Array };

/** A packed array as a typed array of `dtype` ("uint8", "int16" or "float32"). */
export async function unpack(text, dtype) {
  const bytes = await inflate(base64Bytes(text));
  const Type = TYPES[dtype];
  return new Type(bytes.buffer, bytes.byteOffset, bytes.byteLength / Type.BYTES_PER_ELEMENT);
}

/** Unpack every packed field of a view in place (peaks, spectrograms, layers, overlays). */
export async function unpackView(view) {
  const jobs = [];
  for (const track of view.tracks || []) {
    jobs.push(unpackBlocks(track));
    for (const layer of track.layers || []) jobs.push(unpackList(layer, "uint8"));
    for (const overlay of track.overlays || []) jobs.push(unpackList(overlay, "float32"));
  }
  const maps = {};
  for (const [name, text] of Object.entries(view.colormaps || {})) {
    jobs.push(unpack(text, "uint8").then((rgb) => (maps[name] = rgb)));
  }
  await Promise.all(jobs);
  view.colormaps = maps;
  return view;
}

/** Unpack a track's (or a tile's) peaks and spectrogram. */
export async function unpackBlocks(block) {
  await Promise.all([unpackList(block.peaks, "int16"), unpackList(block.spec, "uint8")]);
  return block;
}

/** Replace `holder.data` (a list of packed channels) by typed arrays. */
export async function unpackList(holder, dtype) {
  if (!holder || !holder.data || holder.unpacked) return holder;
  holder.data = await Promise.all(holder.data.map((text) => unpack(text, dtype)));
  holder.unpacked = true;
  return holder;
}
