// Runs Lighthouse (its Node API) on a list of pages in one headless Chromium and writes
// each run's JSON report; bench/audit.py starts one of these per worker.
//   node bench/lighthouse.mjs JOBS.json
// JOBS.json: {chromePath, chromeFlags, categories, runs: [{url, formFactor, output}]}.
// One process and one browser for many runs: the CLI spends about 5 s more on each
// (starting Node and Chromium, and waiting out Node's fetch keep-alive before it exits).
import fs from "node:fs";

import * as chromeLauncher from "chrome-launcher";
import lighthouse from "lighthouse";
import desktopConfig from "lighthouse/core/config/desktop-config.js";

const jobs = JSON.parse(fs.readFileSync(process.argv[2], "utf8"));
const chrome = await chromeLauncher.launch({
  chromePath: jobs.chromePath,
  chromeFlags: jobs.chromeFlags,
});
try {
  for (const run of jobs.runs) {
    const flags = {
      port: chrome.port,
      output: "json",
      logLevel: "error",
      onlyCategories: jobs.categories,
      disableFullPageScreenshot: true, // a picture for the HTML report; nothing is scored on it
    };
    let report;
    try {
      const config = run.formFactor === "desktop" ? desktopConfig : undefined;
      report = (await lighthouse(run.url, flags, config)).report;
    } catch (error) {
      report = JSON.stringify({ runtimeError: { code: "LIGHTHOUSE", message: String(error) } });
    }
    fs.writeFileSync(run.output, report);
  }
} finally {
  await chrome.kill();
}
process.exit(0); // without it, Node's idle fetch connection keeps the process 4 s longer
