// The yr dashboard: polls the master's JSON API every 2 s; no library, no external request.
"use strict";
const $ = (sel) => document.querySelector(sel);
const state = { instances: [], sortKey: "state", sortAsc: true, timer: null };

async function getJSON(url) {
  const r = await fetch(url, { credentials: "same-origin" });
  if (!r.ok) throw new Error(url + ": " + r.status + " " + (await r.text()));
  return r.json();
}

function cell(tr, text, cls) {
  const td = document.createElement("td");
  td.textContent = text === undefined || text === null ? "" : String(text);
  if (cls) td.className = cls;
  tr.appendChild(td);
  return td;
}

function fill(tbody, rows, make) {
  tbody.replaceChildren(...rows.map((r) => { const tr = document.createElement("tr"); make(tr, r); return tr; }));
}

function drawRates(points) {
  const c = $("#rates"), g = c.getContext("2d"), w = c.width, h = c.height, pad = 30;
  g.clearRect(0, 0, w, h);
  const max = Math.max(1, ...points.map((p) => p.finished_per_s));
  g.strokeStyle = "#ccc"; g.beginPath(); g.moveTo(pad, h - pad); g.lineTo(w - 5, h - pad); g.stroke();
  g.fillStyle = "#555"; g.fillText(max.toFixed(1) + "/s", 2, 12); g.fillText("0", 2, h - pad);
  if (points.length < 2) { g.fillText("(collecting...)", pad + 10, h / 2); return; }
  const t0 = points[0].time, t1 = points[points.length - 1].time || t0 + 1;
  const x = (t) => pad + (w - pad - 10) * (t - t0) / Math.max(1, t1 - t0);
  const y = (v) => h - pad - (h - pad - 15) * v / max;
  for (const [key, color] of [["finished_per_s", "#1f77b4"], ["failed_per_s", "#d62728"]]) {
    g.strokeStyle = color; g.beginPath();
    points.forEach((p, i) => (i ? g.lineTo(x(p.time), y(p[key])) : g.moveTo(x(p.time), y(p[key]))));
    g.stroke();
  }
  g.fillStyle = "#1f77b4"; g.fillText("finished", w - 120, 12);
  g.fillStyle = "#d62728"; g.fillText("failed", w - 60, 12);
}

function renderInstances() {
  const text = $("#filter").value.toLowerCase();
  const k = state.sortKey, dir = state.sortAsc ? 1 : -1;
  const rows = state.instances
    .filter((r) => !text || JSON.stringify(r).toLowerCase().includes(text))
    .sort((a, b) => (a[k] > b[k] ? dir : a[k] < b[k] ? -dir : 0));
  fill($("#instances tbody"), rows, (tr, r) => {
    const a = document.createElement("a");
    a.href = "#/instance/" + encodeURIComponent(r.instance_id);
    a.textContent = r.instance_id;
    cell(tr, "").appendChild(a);
    cell(tr, r.class); cell(tr, (r.namespace ? r.namespace + "/" : "") + r.name); cell(tr, r.node_id);
    cell(tr, r.state, r.state); cell(tr, r.restarts); cell(tr, r.cpu); cell(tr, r.memory_mib);
    cell(tr, r.job_id); cell(tr, r.exit_reason);
  });
  $("#instance-count").textContent = rows.length + " of " + state.instances.length + " shown";
  document.querySelectorAll("#instances th").forEach((th) => {
    th.className = th.dataset.key === k ? (state.sortAsc ? "asc" : "desc") : "";
  });
}

async function refreshOverview() {
  const [o, inst] = await Promise.all([getJSON("/api/overview"), getJSON("/api/instances")]);
  fill($("#nodes tbody"), o.nodes, (tr, n) => {
    cell(tr, n.node_id); cell(tr, n.address || "(master)"); cell(tr, n.state);
    cell(tr, n.cpu_used + " / " + n.cpu_total); cell(tr, n.memory_used_mib + " / " + n.memory_total_mib);
    cell(tr, n.instances); cell(tr, n.warm_workers); cell(tr, n.objects);
  });
  fill($("#functions tbody"), o.functions, (tr, f) => {
    cell(tr, f.function); cell(tr, f.executors); cell(tr, f.calls_finished); cell(tr, f.calls_failed);
  });
  fill($("#jobs tbody"), o.jobs, (tr, j) => {
    cell(tr, j.job_id); cell(tr, j.state, j.state === "RUNNING" ? "RUNNING" : ""); cell(tr, j.driver_pid);
    cell(tr, j.instances_alive + " / " + j.instances);
  });
  drawRates(o.rates);
  state.instances = inst;
  renderInstances();
  const alive = inst.filter((r) => r.state !== "DEAD").length;
  $("#summary").textContent = o.nodes.length + " nodes, " + alive + " live instances, " +
    o.calls_finished + " calls finished (" + o.calls_failed + " failed)";
}

async function refreshInstance(id) {
  // the log and the info are shown independently: a slow or failed one does not hide the other
  const logDone = fetch("/api/instances/" + encodeURIComponent(id) + "/log?tail=200")
    .then((r) => r.text())
    .then((log) => {
      const pre = $("#log-tail"), atEnd = pre.scrollTop + pre.clientHeight >= pre.scrollHeight - 4;
      pre.textContent = log;
      if (atEnd) pre.scrollTop = pre.scrollHeight;
    });
  const info = await getJSON("/api/instances/" + encodeURIComponent(id));
  $("#instance-title").textContent = info.class + " " + info.instance_id;
  const keys = ["state", "node_id", "name", "namespace", "restarts", "exit_reason", "pid", "cpu", "memory_mib", "job_id", "language"];
  fill($("#instance-info tbody"), keys, (tr, k) => { cell(tr, k); cell(tr, info[k], k === "state" ? info[k] : ""); });
  fill($("#instance-calls tbody"), Object.entries(info.calls), (tr, [m, c]) => {
    cell(tr, m); cell(tr, c.started); cell(tr, c.finished); cell(tr, c.failed);
    cell(tr, c.finished ? (1000 * c.seconds / c.finished).toFixed(3) : "");
  });
  await logDone;
}

function route() {
  const m = location.hash.match(/^#\/instance\/(.+)$/);
  $("#overview-page").hidden = !!m;
  $("#instance-page").hidden = !m;
  const refresh = m ? () => refreshInstance(decodeURIComponent(m[1])) : refreshOverview;
  const tick = () => refresh()
    .then(() => { $("#updated").textContent = "updated " + new Date().toLocaleTimeString(); })
    .catch((e) => { $("#updated").textContent = "error: " + e.message; });
  clearInterval(state.timer);
  tick();
  state.timer = setInterval(tick, 2000);
}

document.querySelectorAll("#instances th").forEach((th) => th.addEventListener("click", () => {
  state.sortAsc = state.sortKey === th.dataset.key ? !state.sortAsc : true;
  state.sortKey = th.dataset.key;
  renderInstances();
}));
$("#filter").addEventListener("input", renderInstances);
window.addEventListener("hashchange", route);
route();
