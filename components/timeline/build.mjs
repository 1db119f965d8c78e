// Bundles src/ into dist/timeline.js (one IIFE, minified) and copies src/timeline.css.
// The first line of each output records the SHA-256 of the sources, which a test compares
// with the sources in the repository, so a stale build cannot be committed unnoticed.
import { build } from "esbuild";
import { createHash } from "node:crypto";
import { readFileSync, readdirSync, statSync, writeFileSync, mkdirSync } from "node:fs";
import { join, relative } from "node:path";

const here = new URL(".", import.meta.url).pathname;
const SOURCES = ["src", "package.json", "package-lock.json", "build.mjs"];

function files(path) {
  if (!statSync(path).isDirectory()) return [path];
  return readdirSync(path).sort().flatMap((name) => files(join(path, name)));
}

function sourceHash() {
  const hash = createHash("sha256");
  const all = SOURCES.flatMap((name) => files(join(here, name))).map((file) => relative(here, file));
  all.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)); // code-point order, as Python's sorted()
  for (const file of all) {
    hash.update(file + "\0");
    hash.update(readFileSync(join(here, file)));
    hash.update("\0");
  }
  return hash.digest("hex");
}

const stamp = `/* audiolab-timeline source-sha256: ${sourceHash()} */\n`;
const result = await build({
  entryPoints: [join(here, "src/index.js")],
  bundle: true,
  minify: true,
  format: "iife",
  target: ["es2020"],
  legalComments: "none",
  write: false,
});
mkdirSync(join(here, "dist"), { recursive: true });
writeFileSync(join(here, "dist/timeline.js"), stamp + result.outputFiles[0].text);
writeFileSync(join(here, "dist/timeline.css"), stamp + readFileSync(join(here, "src/timeline.css"), "utf8"));
console.log("built dist/timeline.js and dist/timeline.css", stamp.trim());
