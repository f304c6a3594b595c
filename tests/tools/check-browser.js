#!/usr/bin/env node
// check-browser.js - opens a generated report.html in headless Chromium through
// the DevTools protocol (chrome-remote-interface) and fails (exit 1) on:
//   - any console error or uncaught exception (also while hovering a point),
//   - any failed request, or any request that is not the page itself or a data: URI
//     (the page must stand alone: nothing external, nothing beside it),
//   - any broken image,
//   - a roofline figure without hover titles, or a titled point with an empty title,
//   - a page wider than a phone screen (tables must scroll inside their box).
// Saves screenshots (desktop and 390 px wide) for the log.
//
// usage: node check-browser.js CHROMIUM REPORT.html OUT_DIR
'use strict';
const { spawn } = require('child_process');
const fs = require('fs');
const path = require('path');
const os = require('os');
const CDP = require('chrome-remote-interface');

const [chromium, report, outDir] = process.argv.slice(2);
if (!chromium || !report || !outDir) {
  console.error('usage: node check-browser.js CHROMIUM REPORT.html OUT_DIR');
  process.exit(2);
}
const pageUrl = 'file://' + path.resolve(report);
const profile = fs.mkdtempSync(path.join(os.tmpdir(), 'opbound-chromium-'));
const problems = [];
const say = (m) => console.log('check-browser: ' + m);

function waitForPort(ms) {
  const file = path.join(profile, 'DevToolsActivePort');
  const t0 = Date.now();
  return new Promise((resolve, reject) => {
    (function poll() {
      if (fs.existsSync(file)) {
        const port = parseInt(fs.readFileSync(file, 'utf8').split('\n')[0], 10);
        if (port > 0) return resolve(port);
      }
      if (Date.now() - t0 > ms) return reject(new Error('Chromium did not open its DevTools port'));
      setTimeout(poll, 100);
    })();
  });
}

async function main() {
  const browser = spawn(chromium, [
    '--headless=new', '--no-sandbox', '--disable-gpu', '--disable-dev-shm-usage',
    '--no-first-run', '--no-default-browser-check', '--disable-extensions',
    '--remote-debugging-port=0', '--user-data-dir=' + profile, 'about:blank',
  ], { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  browser.stderr.on('data', (d) => { stderr += d; });
  let client;
  try {
    const port = await waitForPort(30000);
    const targets = await CDP.List({ port });
    const page = targets.find((t) => t.type === 'page');
    client = await CDP({ port, target: page });
    const { Page, Runtime, Network, Log, Input, Emulation } = client;
    Runtime.consoleAPICalled(({ type, args }) => {
      if (type === 'error' || type === 'assert')
        problems.push('console ' + type + ': ' + args.map((a) => a.value || a.description).join(' '));
    });
    Runtime.exceptionThrown(({ exceptionDetails: d }) => {
      problems.push('exception: ' + (d.exception && d.exception.description || d.text));
    });
    Log.entryAdded(({ entry }) => {
      if (entry.level === 'error') problems.push('log error: ' + entry.text + (entry.url ? ' (' + entry.url + ')' : ''));
    });
    const requests = new Map();
    Network.requestWillBeSent(({ requestId, request }) => {
      requests.set(requestId, request.url);
      if (request.url !== pageUrl && !request.url.startsWith('data:'))
        problems.push('request beyond the page: ' + request.url);
    });
    Network.loadingFailed(({ requestId, errorText }) => {
      problems.push('failed request: ' + (requests.get(requestId) || requestId) + ': ' + errorText);
    });
    await Promise.all([Page.enable(), Runtime.enable(), Network.enable(), Log.enable()]);
    await Emulation.setDeviceMetricsOverride({ width: 1400, height: 1000, deviceScaleFactor: 1, mobile: false });
    const loaded = Page.loadEventFired();
    await Page.navigate({ url: pageUrl });
    await loaded;

    const facts = (await Runtime.evaluate({ returnByValue: true, expression: `(() => {
      const imgs = [...document.images];
      const figs = [...document.querySelectorAll('figure')];
      const roof = figs.filter((f) => /roofline/i.test(f.querySelector('figcaption')?.textContent || ''));
      // a point: <g><title>TEXT</title><use .../></g>; gnuplot's own plot groups
      // carry an id (and the plot's name as their title), legend samples sit in them
      // (and gnuplot's style groups carry fill/colour attributes): a point group has
      // no attribute, or only event handlers (gnuplot's own hypertext, a failure)
      const groups = roof.map((f) => [...f.querySelectorAll('svg g')]
          .filter((g) => g.querySelector(':scope > use') &&
                         [...g.attributes].every((a) => /^on/.test(a.name))));
      window.__points = groups;
      const titleOf = (g) => g.querySelector(':scope > title');
      const titled = groups.map((l) => l.filter((g) => titleOf(g)));
      const untitled = groups.flat().filter((g) => !titleOf(g)).length;
      const scripted = groups.flat().filter((g) => [...g.attributes].some((a) => /^on/.test(a.name))).length;
      const first = titled.flat()[0] ? titleOf(titled.flat()[0]) : null;
      const r = first ? first.nextElementSibling.getBoundingClientRect() : null;
      return {
        images: imgs.length,
        broken: imgs.filter((i) => !i.complete || i.naturalWidth === 0).map((i) => i.alt),
        svgs: document.querySelectorAll('svg').length,
        rooflines: roof.length,
        titledPerRoofline: titled.map((l) => l.length),
        emptyTitles: titled.flat().filter((g) => !/Op\\/B/.test(titleOf(g).textContent)).length,
        untitled, scripted,
        sample: first ? first.textContent : '',
        hoverAt: r ? { x: r.x + r.width / 2, y: r.y + r.height / 2, scrollY: window.scrollY } : null,
        tables: document.querySelectorAll('table').length,
        scrolling: document.querySelectorAll('div.scroll > table').length,
      };
    })()` })).result.value;
    say(`${facts.svgs} inline SVG charts, ${facts.images} images, ${facts.tables} tables, ` +
        `${facts.rooflines} rooflines with ${facts.titledPerRoofline.join('/')} titled points`);
    if (facts.broken.length) problems.push('broken images: ' + facts.broken.join(', '));
    if (facts.svgs + facts.images === 0) problems.push('no chart at all in the page');
    if (facts.rooflines === 0) problems.push('no roofline figure found');
    facts.titledPerRoofline.forEach((n, i) => { if (n === 0) problems.push(`roofline ${i + 1}: no hover titles`); });
    if (facts.emptyTitles) problems.push(facts.emptyTitles + ' point titles without the op figures');
    if (facts.untitled) problems.push(facts.untitled + ' roofline points without a hover title');
    if (facts.scripted) problems.push(facts.scripted + ' roofline points with event-handler attributes');
    if (facts.scrolling !== facts.tables) problems.push('tables outside a scrolling box');
    say('sample hover title: ' + facts.sample);

    if (facts.hoverAt) { // hover a point: a leftover hover script would throw here
      await Runtime.evaluate({ expression: `window.scrollTo(0, ${facts.hoverAt.y - 300})` });
      const pos = (await Runtime.evaluate({ returnByValue: true, expression: `(() => {
        const u = window.__points.flat()[0].querySelector(':scope > use');
        const r = u.getBoundingClientRect(); return { x: r.x + r.width / 2, y: r.y + r.height / 2 }; })()` })).result.value;
      await Input.dispatchMouseEvent({ type: 'mouseMoved', x: pos.x, y: pos.y });
      await new Promise((r) => setTimeout(r, 300));
      await Input.dispatchMouseEvent({ type: 'mouseMoved', x: 5, y: 5 });
      await Runtime.evaluate({ expression: 'window.scrollTo(0, 0)' });
    }
    fs.mkdirSync(outDir, { recursive: true });
    let shot = await Page.captureScreenshot({ format: 'png' });
    fs.writeFileSync(path.join(outDir, 'report-desktop.png'), Buffer.from(shot.data, 'base64'));

    await Emulation.setDeviceMetricsOverride({ width: 390, height: 844, deviceScaleFactor: 1, mobile: true });
    await new Promise((r) => setTimeout(r, 300));
    const widths = (await Runtime.evaluate({ returnByValue: true, expression:
      '({page: document.documentElement.scrollWidth, view: window.innerWidth})' })).result.value;
    if (widths.page > widths.view + 1)
      problems.push(`at ${widths.view} px the page is ${widths.page} px wide (something does not scroll in its box)`);
    shot = await Page.captureScreenshot({ format: 'png' });
    fs.writeFileSync(path.join(outDir, 'report-phone.png'), Buffer.from(shot.data, 'base64'));
    say('screenshots: ' + path.join(outDir, 'report-desktop.png') + ', report-phone.png');
  } catch (e) {
    problems.push('browser check could not run: ' + e.message + (stderr ? '\n' + stderr.slice(-2000) : ''));
  } finally {
    if (client) await client.close().catch(() => {});
    const exited = new Promise((r) => browser.once('exit', r));
    browser.kill('SIGTERM');
    await Promise.race([exited, new Promise((r) => setTimeout(r, 5000))]);
    try { fs.rmSync(profile, { recursive: true, force: true, maxRetries: 5 }); } catch (e) { /* a temp folder */ }
  }
  if (problems.length) {
    problems.forEach((p) => console.error('check-browser: FAIL: ' + p));
    process.exit(1);
  }
  say('ok: no console error, no failed or external request, no broken image, every roofline titled');
}
main();
