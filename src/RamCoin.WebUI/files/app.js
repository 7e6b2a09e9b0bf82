// RamCoin dashboard. Every URL is relative, so the page also works behind kubectl proxy's path prefix.
// The server pushes one "dashboard" event a second (Server-Sent Events, from "events"); when a stream
// cannot be kept open, the page polls "dashboard.json" instead.
"use strict";

const keep = 300; // points per chart: five minutes
const series = { t: [], rate: [], instant: [], rngP50: [], rngP95: [], hasherP50: [], hasherP95: [], rngFlight: [], hasherFlight: [] };
let charts = null;
let pageVersion = null;
let previous = null;
let lastMessage = 0;
let polling = null;
const timeline = new Map(); // the web UI's events, by id and time (a restarted web UI counts from 1 again)

const $ = id => document.getElementById(id);

// Projector mode (?projector=1) is kept in the URL, so a reload keeps it; set before the charts read the colours.
const projector = new URLSearchParams(location.search).get("projector") === "1";
document.documentElement.classList.toggle("projector", projector);
$("projector-toggle").href = projector ? "index.html" : "?projector=1";
$("projector-toggle").textContent = projector ? "leave projector mode" : "projector mode";
const css = name => getComputedStyle(document.documentElement).getPropertyValue(name).trim();
const fmt = (n, digits = 0) => Number(n).toLocaleString(undefined, { maximumFractionDigits: digits, minimumFractionDigits: digits });
const clock = unix => new Date(unix * 1000).toLocaleTimeString();

function duration(seconds) {
  const s = Math.floor(seconds);
  const h = Math.floor(s / 3600), m = Math.floor((s % 3600) / 60);
  return h > 0 ? `${h} h ${m} min` : m > 0 ? `${m} min ${s % 60} s` : `${s} s`;
}

function makeChart(element, lines, height, plugins = []) {
  const font = "22px system-ui, sans-serif";
  const [bigX, bigY] = projector ? [{ font, size: 80, space: 150 }, { font, size: 100, space: 60 }] : [{}, { size: 60 }];
  const options = {
    plugins,
    width: element.clientWidth || 600,
    height,
    cursor: { drag: { x: false, y: false } },
    scales: { x: { time: true }, y: { range: (u, min, max) => [0, Math.max(1, max * 1.1)] } },
    axes: [{ stroke: css("--muted"), grid: { stroke: css("--line") }, ...bigX }, { stroke: css("--muted"), grid: { stroke: css("--line") }, ...bigY }],
    series: [{}, ...lines.map(([label, color, width]) => ({ label, stroke: css(color), width: width || 2, points: { show: false } }))],
  };
  return new uPlot(options, [[], ...lines.map(() => [])], element);
}

function ensureCharts() {
  if (charts || typeof uPlot === "undefined") {
    return;
  }
  charts = {
    rate: makeChart($("rate-chart"), [["hashes/s (10 s window)", "--accent", projector ? 5 : 2.5], ["instant (classic)", "--accent2", 1]], projector ? 480 : 260, [{ hooks: { draw: [placeMarkers] } }]),
    rng: makeChart($("rng-chart"), [["p50", "--accent"], ["p95", "--accent2"]], 150),
    hasher: makeChart($("hasher-chart"), [["p50", "--accent"], ["p95", "--accent2"]], 150),
    flight: makeChart($("inflight-chart"), [["rng", "--accent"], ["hasher", "--accent2"]], 150),
  };
  charts.rate.setSeries(2, { show: $("instant").checked });
  window.addEventListener("resize", () => {
    for (const [name, chart] of Object.entries(charts)) {
      chart.setSize({ width: $(name === "flight" ? "inflight-chart" : name + "-chart").clientWidth, height: chart.height });
    }
  });
}

// The server keeps the last minutes of the charts: a page opened now starts with them.
async function loadHistory() {
  try {
    const response = await fetch("history.json", { cache: "no-store" });
    if (response.ok) {
      const h = await response.json();
      series.t = h.t; series.rate = h.rate; series.instant = h.t.map(() => null);
      series.rngP50 = h.rngP50; series.rngP95 = h.rngP95; series.hasherP50 = h.hasherP50; series.hasherP95 = h.hasherP95;
      series.rngFlight = h.rngInFlight; series.hasherFlight = h.hasherInFlight;
      addEvents(h.events);
    }
  } catch (error) {
    // No history: the charts start empty and fill as events arrive.
  }
}

function push(key, value) {
  series[key].push(value);
  if (series[key].length > keep) {
    series[key].shift();
  }
}

function rows(table, items, cells) {
  const body = $(table).querySelector("tbody");
  body.replaceChildren(...items.map(item => {
    const tr = document.createElement("tr");
    for (const [text, cls] of cells(item)) {
      const td = document.createElement("td");
      td.textContent = text;
      if (cls) {
        td.className = cls;
      }
      tr.appendChild(td);
    }
    return tr;
  }));
}

// Timeline: each event as a marker on the mining chart (a line with its kind's colour, its text on hover) and in the list.
function addEvents(events) {
  let added = false;
  for (const e of events || []) {
    const key = e.id + "@" + e.at;
    if (!timeline.has(key)) {
      timeline.set(key, e);
      added = true;
    }
  }
  if (added) {
    const newest = [...timeline.values()].sort((a, b) => b.at - a.at || b.id - a.id);
    $("timeline-list").replaceChildren(...newest.slice(0, 50).map(e => {
      const li = document.createElement("li");
      li.dataset.kind = e.kind;
      const time = document.createElement("time");
      time.textContent = clock(e.at);
      li.append(time, " " + e.text);
      return li;
    }));
    if (charts) {
      placeMarkers(charts.rate);
    }
  }
}

// The markers stay the same elements from draw to draw (a hover keeps its tooltip); those off the chart go.
function placeMarkers(u) {
  const [min, max] = [u.scales.x.min, u.scales.x.max];
  const shown = new Set();
  for (const [key, e] of timeline) {
    if (min == null || e.at < min || e.at > max) {
      continue;
    }
    shown.add(key);
    let mark = u.over.querySelector(`.marker[data-key="${CSS.escape(key)}"]`);
    if (!mark) {
      mark = document.createElement("div");
      mark.className = "marker";
      mark.dataset.key = key;
      mark.dataset.kind = e.kind;
      mark.title = clock(e.at) + " " + e.text;
      u.over.appendChild(mark);
    }
    mark.style.left = u.valToPos(e.at, "x") + "px";
  }
  u.over.querySelectorAll(".marker").forEach(m => shown.has(m.dataset.key) || m.remove());
}

function render(d) {
  lastMessage = Date.now();
  // A rolling update replaced the web UI: load the new page.
  if (pageVersion === null) {
    pageVersion = d.webUI.version;
  } else if (d.webUI.version !== pageVersion) {
    location.reload();
    return;
  }
  $("webui-version").textContent = d.webUI.version;
  $("webui-instance").textContent = d.webUI.instance;

  const stale = $("stale");
  stale.hidden = !d.stale;
  if (d.stale) {
    stale.textContent = d.staleSince
      ? `Data stale since ${clock(d.staleSince)}: the store does not answer. Retrying by itself.`
      : "No data yet: the store has not answered since the web UI started. Retrying by itself.";
  }

  const instant = previous && d.now > previous.now && !d.stale ? Math.max(0, (d.hashes - previous.hashes) / (d.now - previous.now)) : null;
  previous = d;
  const showInstant = $("instant").checked;
  $("rate").textContent = fmt(showInstant && instant !== null ? instant : d.rate, 1);
  $("rate-kind").textContent = showInstant ? "instant, browser" : "last 10 s, server";
  $("hashes").textContent = fmt(d.hashes);
  $("coins").textContent = fmt(d.coins);
  $("coins-per-minute").textContent = fmt(d.coinsPerMinute, 1);
  $("uptime").textContent = duration(d.uptimeSeconds);
  $("hint").textContent = d.hint || "Waiting for the workers' measurements…";
  // The expected ceiling beside the measured rate: what the deployment can reach now, and which part sets it.
  const c = d.ceiling;
  $("ceiling").textContent = c ? fmt(c.hashesPerSecond, 1) : "–";
  $("ceiling-explanation").textContent = c
    ? `ceiling ${fmt(c.hashesPerSecond, 1)} h/s: ${c.explanation}; measured ${fmt(d.rate, 1)}`
    : "Waiting for the services' reports…";
  $("ceiling-terms").textContent = c ? `set by ${c.limitedBy}; ` + c.terms.map(t => `${t.part} ${fmt(t.hashesPerSecond, 1)}`).join(", ") : "";
  addEvents(d.events);

  // The first event may already be the history's last point.
  if (!series.t.length || d.now > series.t[series.t.length - 1]) {
    push("t", d.now);
    push("rate", d.stale ? null : d.rate);
    push("instant", instant);
    push("rngP50", d.rng.p50Ms);
    push("rngP95", d.rng.p95Ms);
    push("hasherP50", d.hasher.p50Ms);
    push("hasherP95", d.hasher.p95Ms);
    push("rngFlight", d.rng.inFlight);
    push("hasherFlight", d.hasher.inFlight);
  }
  ensureCharts();
  if (charts) {
    charts.rate.setData([series.t, series.rate, series.instant]);
    charts.rng.setData([series.t, series.rngP50, series.rngP95]);
    charts.hasher.setData([series.t, series.hasherP50, series.hasherP95]);
    charts.flight.setData([series.t, series.rngFlight, series.hasherFlight]);
  }

  rows("workers", d.workers, w => [[w.instance], [fmt(w.rate, 1)], [fmt(w.hashes)], [w.version], [`${fmt(w.seenSecondsAgo)} s ago`]]);
  rows("rng-instances", d.rng.instances, i => [[i.instance], [fmt(i.calls)], [i.version]]);
  rows("hasher-instances", d.hasher.instances, i => [[i.instance], [fmt(i.calls)], [i.version]]);
  rows("wallet", d.recentCoins, c => [
    [c.hash.slice(0, 16) + "…"], [clock(c.at)], [c.worker],
    c.verified ? ["✓ verified", "ok"] : ["✗ does not verify", "bad"],
  ]);
}

function setConnection(text, cls) {
  const pill = $("connection");
  pill.textContent = text;
  pill.className = "pill " + cls;
}

async function pollOnce() {
  try {
    const response = await fetch("dashboard.json", { cache: "no-store" });
    if (!response.ok) {
      throw new Error("dashboard.json answered " + response.status);
    }
    render(await response.json());
    setConnection("polling", "polling");
  } catch (error) {
    setConnection("web UI unreachable", "down");
  }
}

function startPolling() {
  if (!polling) {
    polling = setInterval(pollOnce, 1000);
    pollOnce();
  }
}

function connect() {
  if (!window.EventSource) {
    startPolling();
    return;
  }
  let failures = 0;
  const events = new EventSource("events");
  events.addEventListener("dashboard", e => {
    failures = 0;
    setConnection("live", "live");
    render(JSON.parse(e.data));
  });
  events.onerror = () => {
    setConnection("reconnecting…", "down");
    // The browser retries by itself; after three failures in a row, poll instead. A stream the server refused
    // (503 when it serves as many viewers as it may) is closed for good: poll at once.
    if (events.readyState === EventSource.CLOSED || ++failures >= 3) {
      events.close();
      startPolling();
    }
  };
}

$("instant").addEventListener("change", () => {
  if (charts) {
    charts.rate.setSeries(2, { show: $("instant").checked });
  }
  if (previous) {
    $("rate-kind").textContent = $("instant").checked ? "instant, browser" : "last 10 s, server";
  }
});

// The lesson each knob serves, shown under it (the README's "Lesson knobs" table says more).
const knobLessons = {
  RNG_DELAY_MS: "where the time goes: latency charts, the bottleneck hint",
  HASHER_DELAY_MS: "where the time goes: latency charts, the bottleneck hint",
  WORKER_DELAY_MS: "where the time goes: latency charts, the bottleneck hint",
  RNG_CONCURRENCY: "scaling: at 1, rng is the bottleneck more workers cannot beat",
  DIFFICULTY: "how rare coins are: each hex digit makes them 16 times rarer",
  RAMCOIN_ERROR_RATE: "share of answers failing with a 500: retries, circuit breaker",
  RAMCOIN_EXTRA_LATENCY_MS: "added to every answer: timeouts, latency alerts",
  RAMCOIN_SLOW_START_MS: "not ready this long after start: readiness probes, rolling updates",
  RAMCOIN_FORCE_UNREADY: "not ready while true: out of its Service, not restarted",
  RAMCOIN_CPU_BURN_MS: "CPU spent on each request: HPA on CPU",
  RAMCOIN_IGNORE_SIGTERM: "only SIGKILL stops the process: terminationGracePeriodSeconds",
  RAMCOIN_LEAK_MB_PER_MINUTE: "resident memory grows: memory limit, OOMKilled",
  RAMCOIN_CRASH_AFTER_S: "exits with code 3 after this many seconds: CrashLoopBackOff",
};

// Lesson knobs: the web UI passes reads and changes on to each service's admin API, with the teacher's token.
async function loadKnobs() {
  const box = $("knobs");
  try {
    const response = await fetch("knobs", { cache: "no-store" });
    const services = await response.json();
    box.replaceChildren(...Object.entries(services).map(([service, knobs]) => {
      const set = document.createElement("fieldset");
      set.dataset.service = service;
      const legend = document.createElement("legend");
      legend.textContent = service;
      set.appendChild(legend);
      if (knobs.error) {
        const p = document.createElement("p");
        p.className = "hint";
        p.textContent = "unreachable: " + knobs.error;
        set.appendChild(p);
        return set;
      }
      for (const [name, value] of Object.entries(knobs)) {
        const label = document.createElement("label");
        label.textContent = name;
        const input = document.createElement("input");
        input.name = name;
        input.value = value ?? "";
        input.placeholder = "default";
        label.appendChild(input);
        const knob = document.createElement("div");
        knob.dataset.knob = name;
        knob.appendChild(label);
        if (knobLessons[name]) {
          const lesson = document.createElement("small");
          lesson.className = "lesson";
          lesson.textContent = knobLessons[name];
          knob.appendChild(lesson);
        }
        set.appendChild(knob);
      }
      const apply = document.createElement("button");
      apply.textContent = "Apply to " + service;
      apply.addEventListener("click", () => applyKnobs(service, set));
      set.appendChild(apply);
      return set;
    }));
  } catch (error) {
    box.textContent = "Knobs unavailable: " + error.message;
  }
}

async function applyKnobs(service, set) {
  const changes = {};
  for (const input of set.querySelectorAll("input")) {
    changes[input.name] = input.value === "" ? null : input.value;
  }
  const status = $("knobs-status");
  try {
    const response = await fetch("knobs/" + service, {
      method: "PUT",
      headers: { "Content-Type": "application/json", "Authorization": "Bearer " + $("admin-token").value },
      body: JSON.stringify(changes),
    });
    const body = await response.json();
    status.textContent = response.ok ? `${service}: knobs applied.` : `${service}: ${body.title}. ${body.detail || ""}`;
  } catch (error) {
    status.textContent = `${service}: ${error.message}`;
  }
}

loadKnobs();
loadHistory().then(connect);
