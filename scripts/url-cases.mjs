// The URL conformance cases for tests/url_conformance.rs, printed as JSON on stdout:
// every input of the URL standard's own test data (urltestdata.json, against its base), as it
// is and with its scheme changed to ws, wss, http and https (`S:` + the input without its own
// scheme), and every host of toascii.json as `S://HOST/x` for the same four schemes. Each case
// carries what `new WebSocket(url)` gives by the standards: the serialised URL, or null for a
// SyntaxError. The URL parser is whatwg-url, the URL standard's reference implementation,
// after checking that it gives the data's own answer for every entry of both files; the
// WebSocket constructor's steps are the WebSocket standard's, on the URL record.
//
//   node scripts/url-cases.mjs [WPT_DIR]     (default: ../shared/wpt from the project root)
//
// Exits non-zero (saying why) when a data file is missing or the reference disagrees with it.
import { readFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import { parseURL, serializeURL } from "whatwg-url";

const root = join(dirname(fileURLToPath(import.meta.url)), "..");
const wpt = process.argv[2] ?? join(root, "..", "shared", "wpt");
const load = (name) => JSON.parse(readFileSync(join(wpt, name), "utf8")).filter((e) => typeof e === "object");
const urlData = load("urltestdata.json");
const asciiData = load("toascii.json");

/** The URL parser with an optional base: the record, or null on failure. */
function parse(input, base) {
  if (base === null) return parseURL(input);
  const baseRecord = parseURL(base);
  return baseRecord === null ? null : parseURL(input, { baseURL: baseRecord });
}

/** The WebSocket constructor's URL steps: the serialised URL, or null (SyntaxError). */
function webSocketUrl(input, base) {
  const record = parse(input, base);
  if (record === null) return null;
  if (record.scheme === "http") record.scheme = "ws";
  else if (record.scheme === "https") record.scheme = "wss";
  if (record.scheme !== "ws" && record.scheme !== "wss") return null;
  if (record.fragment !== null) return null;
  return serializeURL(record);
}

// The reference must give the data's own answers.
const disagreements = [];
for (const e of urlData) {
  const record = parse(e.input, e.base);
  const got = record === null ? null : serializeURL(record);
  const want = e.failure ? null : e.href;
  if (got !== want) disagreements.push({ input: e.input, base: e.base, want, got });
}
for (const e of asciiData) {
  const record = parseURL(`https://${e.input}/x`);
  const got = record === null ? null : record.host === null ? null : serializeURL(record).slice(8, -2);
  if (got !== e.output) disagreements.push({ input: e.input, want: e.output, got });
}
if (disagreements.length > 0) {
  console.error(`whatwg-url disagrees with the URL standard's data on ${disagreements.length} entries:`);
  for (const d of disagreements.slice(0, 20)) console.error(JSON.stringify(d));
  process.exit(1);
}

// A scheme at the start of the input (after leading C0 controls and spaces), as the parser reads it.
const SCHEME = /^[\u0000-\u0020]*[A-Za-z][A-Za-z0-9+\-.]*:/;
const schemes = ["ws", "wss", "http", "https"];
const cases = [];
for (const e of urlData) {
  cases.push({ from: "urltestdata", input: e.input, base: e.base, expected: webSocketUrl(e.input, e.base) });
  const rest = e.input.replace(SCHEME, "");
  for (const scheme of schemes) {
    const input = `${scheme}:${rest}`;
    cases.push({ from: `urltestdata as ${scheme}`, input, base: e.base, expected: webSocketUrl(input, e.base) });
  }
}
for (const e of asciiData) {
  for (const scheme of schemes) {
    const input = `${scheme}://${e.input}/x`;
    cases.push({ from: `toascii as ${scheme}`, input, base: null, expected: webSocketUrl(input, null) });
  }
}
process.stdout.write(JSON.stringify({ reference: "whatwg-url", cases }));
