/**
 * The browser-safe core runs in a real browser: octet's core and onnxruntime-web bundled by
 * esbuild, served on 127.0.0.1, run in headless Chromium (Debian's, driven by playwright-core).
 * The model it writes must be byte-identical to the one Node writes with the same executor.
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { createServer } from "node:http";
import { readFileSync, existsSync } from "node:fs";
import { join, extname } from "node:path";
import { build } from "esbuild";
import { chromium } from "playwright-core";
import { quantizeModel } from "../../src/api/quantize.js";
import { createOrtWebExecutor } from "../../src/calibrate/ort_web.js";
import type { Feeds } from "../../src/data/feeds.js";
import { encodeModel } from "../../src/onnx/encode.js";
import { randomTensor, rng, smallCnn } from "../helpers/models.js";

const ortDist = join(import.meta.dirname, "../../node_modules/onnxruntime-web/dist");
const types: Record<string, string> = { ".js": "text/javascript", ".mjs": "text/javascript", ".wasm": "application/wasm", ".html": "text/html" };

test("quantizing in headless Chromium gives the same model bytes as in Node", async () => {
  assert.ok(existsSync("/usr/bin/chromium"), "Debian's chromium is needed (apt-get install chromium); .ci/run installs it");
  const bundle = await build({
    entryPoints: [join(import.meta.dirname, "entry.ts")],
    bundle: true, format: "esm", platform: "browser", write: false, target: "es2022",
    logLevel: "silent",
  });
  const js = bundle.outputFiles[0]!.contents;
  const page = `<!doctype html><script type="module" src="/bundle.js"></script>`;
  const server = createServer((req, res) => {
    const url = req.url ?? "/";
    if (url === "/") return res.writeHead(200, { "content-type": "text/html" }).end(page);
    if (url === "/bundle.js") return res.writeHead(200, { "content-type": "text/javascript" }).end(js);
    if (url.startsWith("/ort/")) {
      const file = join(ortDist, url.slice(5).split("?")[0]!);
      if (file.startsWith(ortDist) && existsSync(file)) return res.writeHead(200, { "content-type": types[extname(file)] ?? "application/octet-stream" }).end(readFileSync(file));
    }
    res.writeHead(404).end();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const port = (server.address() as { port: number }).port;
  const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });
  try {
    const tab = await browser.newPage();
    const errors: string[] = [];
    tab.on("pageerror", (e) => errors.push(e.message));
    await tab.goto(`http://127.0.0.1:${port}/`);
    await tab.waitForFunction(() => typeof window.quantizeInBrowser === "function", null, { timeout: 30000 });
    const modelBytes = Array.from(encodeModel(smallCnn()));
    const fromBrowser = await tab.evaluate((bytes) => window.quantizeInBrowser(bytes), modelBytes);
    assert.deepEqual(errors, []);

    const r = rng(42);
    const batches: Feeds[] = Array.from({ length: 3 }, () => ({ x: randomTensor([4, 1, 8, 8], 1, r) }));
    const inNode = await quantizeModel(smallCnn(), (async function* () { yield* batches; })(), {
      method: "entropy",
      createExecutor: (m) => createOrtWebExecutor(m),
    });
    assert.deepEqual(fromBrowser, Array.from(encodeModel(inNode.model)));
  } finally {
    await browser.close();
    server.close();
  }
});
