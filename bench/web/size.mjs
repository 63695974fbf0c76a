// The bundle-size table (scripts/bench-web.sh): raw and `gzip -9` bytes of each .wasm after
// wasm-opt -Oz, of the same module before wasm-opt, and of its JS glue; written as JSON.
//
//   node bench/web/size.mjs --out FILE [--facts JSON] [--notes JSON] \
//        --entry 'ID|LABEL|OPT_WASM|PRE_OPT_WASM|JS' ...

import fs from 'node:fs';
import { execFileSync } from 'node:child_process';

const argv = process.argv.slice(2);
const entries = [];
let out = null;
let facts = {};
let notes = {};
for (let i = 0; i < argv.length; i++) {
  if (argv[i] === '--entry') {
    const [id, label, wasm, preOpt, js] = argv[++i].split('|');
    entries.push({ id, label, wasm, preOpt, js });
  } else if (argv[i] === '--out') out = argv[++i];
  else if (argv[i] === '--facts') facts = JSON.parse(argv[++i]);
  else if (argv[i] === '--notes') notes = JSON.parse(argv[++i]);
  else throw new Error(`unknown argument ${argv[i]}`);
}

const raw = (file) => fs.statSync(file).size;
const gz = (file) => execFileSync('gzip', ['-9', '-n', '-c', file], { maxBuffer: 1 << 28 }).length;
const sizes = (file) => ({ file, raw: raw(file), gzip9: gz(file) });

const results = entries.map((e) => ({
  id: e.id,
  label: e.label,
  wasm: sizes(e.wasm),
  wasm_before_wasm_opt: sizes(e.preOpt),
  js_glue: sizes(e.js),
}));

const fmt = (n) => n.toLocaleString('en-US');
const rows = [['build', '.wasm -Oz raw', '.wasm -Oz gzip -9', 'before wasm-opt raw / gz', 'JS glue raw / gz']];
for (const r of results) {
  rows.push([
    r.label,
    fmt(r.wasm.raw),
    fmt(r.wasm.gzip9),
    `${fmt(r.wasm_before_wasm_opt.raw)} / ${fmt(r.wasm_before_wasm_opt.gzip9)}`,
    `${fmt(r.js_glue.raw)} / ${fmt(r.js_glue.gzip9)}`,
  ]);
}
const widths = rows[0].map((_, c) => Math.max(...rows.map((r) => r[c].length)));
const line = (r) => `| ${r.map((cell, c) => (c === 0 ? cell.padEnd(widths[c]) : cell.padStart(widths[c]))).join(' | ')} |`;
console.log(line(rows[0]));
console.log(`|${widths.map((w) => '-'.repeat(w + 2)).join('|')}|`);
for (const r of rows.slice(1)) console.log(line(r));
console.log('(bytes; wasm-opt -Oz from npm binaryen; gzip -9 -n)');

const hellos = results.filter((r) => r.id.endsWith('-hello'));
if (hellos.length) {
  const smallest = hellos.reduce((a, b) => (b.wasm.raw < a.wasm.raw ? b : a));
  console.log(`smallest hello (.wasm raw): ${smallest.label}`);
  notes.smallest_hello = smallest.id;
}

if (out) {
  fs.writeFileSync(out, JSON.stringify({ date: new Date().toISOString(), facts, notes, results }, null, 2) + '\n');
}
