/**
 * The HTML report renders in a real browser: `octet report` on a small depthwise net, opened from
 * disk in headless Chromium (Debian's, driven by playwright-core). Every chart container the page
 * declares must hold a drawn plotly chart (an <svg class="main-svg"> with marks in it), the
 * page must raise no errors and load nothing from the network (the file is self-contained).
 */
import { test } from "node:test";
import assert from "node:assert/strict";
import { existsSync, mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pathToFileURL } from "node:url";
import { Command } from "commander";
import { chromium } from "playwright-core";
import { registerReport } from "../../src/cli/analyze.js";
import { saveModel } from "../../src/onnx/files.js";
import { depthwiseNet } from "../optimize/nets.js";

test("octet report's page draws every chart in headless Chromium, offline, without errors", async () => {
  assert.ok(existsSync("/usr/bin/chromium"), "Debian's chromium is needed (apt-get install chromium); .ci/run installs it");
  const dir = mkdtempSync(join(tmpdir(), "octet-report-render-"));
  const browser = await chromium.launch({
    executablePath: "/usr/bin/chromium",
    args: ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
  });
  try {
    const modelPath = join(dir, "net.onnx");
    saveModel(depthwiseNet({ spread: 1.5 }), modelPath);
    const html = join(dir, "report.html");
    const program = new Command("octet").exitOverride();
    registerReport(program);
    await program.parseAsync(["report", modelPath, "-o", html, "--calib", "random", "--samples", "16", "--batch", "8",
      "--weight-type", "int4", "--target-sqnr", "25", "-q"], { from: "user" });

    const page = await browser.newPage({ viewport: { width: 1280, height: 900 } });
    const errors: string[] = [];
    const requests: string[] = [];
    page.on("pageerror", (e) => errors.push(e.message));
    page.on("console", (m) => { if (m.type() === "error") errors.push(m.text()); });
    page.on("request", (r) => { if (!r.url().startsWith("file:")) requests.push(r.url()); });
    await page.goto(pathToFileURL(html).href);
    await page.waitForLoadState("load");
    const charts = await page.evaluate(() => {
      const containers = [...document.querySelectorAll("div[id]")].filter((d) => /^(layer-sqnr|tensor-sqnr|mp-steps|hist-\d+|weight-\d+)$/.test(d.id));
      return containers.map((d) => ({
        id: d.id,
        drawn: d.classList.contains("js-plotly-plot") && d.querySelector("svg.main-svg") !== null,
        // Bars and lines are paths inside plotly's trace groups.
        marks: d.querySelectorAll("svg.main-svg g.trace path").length,
      }));
    });
    assert.deepEqual(errors, []);
    assert.deepEqual(requests, [], "the report loads nothing from the network");
    const ids = charts.map((c) => c.id);
    for (const expected of ["layer-sqnr", "tensor-sqnr", "mp-steps", "hist-0", "weight-0"]) assert.ok(ids.includes(expected), `the page has a ${expected} chart (${ids.join(", ")})`);
    for (const c of charts) {
      assert.ok(c.drawn, `chart ${c.id} is drawn`);
      assert.ok(c.marks > 0, `chart ${c.id} has marks`);
    }
    const shot = await page.screenshot({ fullPage: true });
    assert.ok(shot.length > 10_000, "a screenshot with content");
    if (process.env.OCTET_REPORT_SCREENSHOT) {
      const { writeFileSync } = await import("node:fs");
      writeFileSync(process.env.OCTET_REPORT_SCREENSHOT, shot);
    }
  } finally {
    await browser.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
