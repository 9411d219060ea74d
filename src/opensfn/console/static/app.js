// opensfn console: a read-only view over the server's own Step Functions API.
// Every figure on the page comes from an API call the browser makes (POST / with
// X-Amz-Target), so it shows what an SDK would see. Text is always set as text.
"use strict";

const SVG = "http://www.w3.org/2000/svg";
const view = document.getElementById("view");
const crumbs = document.getElementById("crumbs");
const regionInput = document.getElementById("region");
let refreshTimer = null;

regionInput.value = localStorage.getItem("opensfn.region") || "us-east-1";
regionInput.addEventListener("change", () => {
  localStorage.setItem("opensfn.region", regionInput.value.trim() || "us-east-1");
  route();
});

// ------------------------------------------------------------------ API

async function api(op, body) {
  // With --auth off the server reads the region from the credential scope only.
  const scope = `console/20240101/${regionInput.value.trim() || "us-east-1"}/states/aws4_request`;
  const r = await fetch("/", {
    method: "POST",
    headers: {
      "Content-Type": "application/x-amz-json-1.0",
      "X-Amz-Target": "AWSStepFunctions." + op,
      "Authorization": `AWS4-HMAC-SHA256 Credential=${scope}, SignedHeaders=host, Signature=0`,
    },
    body: JSON.stringify(body || {}),
  });
  let data = {};
  try { data = await r.json(); } catch (e) { /* not JSON: keep the status */ }
  if (!r.ok) {
    const err = new Error(`${data.__type || r.status}: ${data.message || r.statusText}`);
    err.type = data.__type;
    throw err;
  }
  return data;
}

async function allPages(op, body, key, limit) {
  let out = [], token;
  do {
    const page = await api(op, Object.assign({}, body, token ? { nextToken: token } : {}));
    out = out.concat(page[key] || []);
    token = page.nextToken;
  } while (token && out.length < limit);
  return { items: out, more: Boolean(token) };
}

// ------------------------------------------------------------------ DOM helpers

function h(tag, attrs, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null) continue;
    if (k === "class") el.className = v; else if (k.startsWith("on")) el.addEventListener(k.slice(2), v);
    else el.setAttribute(k, v);
  }
  for (const c of children.flat(Infinity)) {
    if (c === null || c === undefined || c === false) continue;
    el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  }
  return el;
}

function s(tag, attrs, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs || {})) el.setAttribute(k, v);
  for (const c of children) el.append(c instanceof Node ? c : document.createTextNode(String(c)));
  return el;
}

const link = (hash, text) => h("a", { href: hash }, text);
const machineHash = (arn) => "#/machine/" + encodeURIComponent(arn);
const executionHash = (arn) => "#/execution/" + encodeURIComponent(arn);
const millis = (t) => (typeof t === "number" ? t * 1000 : Date.parse(t)); // API dates: epoch seconds
const when = (t) => (t === undefined || t === null ? "—" : new Date(millis(t)).toLocaleString());
const status = (st) => h("span", { class: "status " + st }, st);

function pretty(text) {
  if (text === undefined || text === null) return "—";
  try { return JSON.stringify(JSON.parse(text), null, 2); } catch (e) { return String(text); }
}

function table(headers, rows, empty) {
  if (!rows.length) return h("p", { class: "muted" }, empty);
  return h("table", {}, h("thead", {}, h("tr", {}, headers.map((x) => h("th", {}, x)))),
    h("tbody", {}, rows.map((r) => h("tr", {}, r.map((c) => (c instanceof Node && c.tagName === "TD" ? c : h("td", {}, c)))))));
}

function facts(pairs) {
  return h("dl", { class: "facts" }, pairs.filter((p) => p[1] !== undefined).map(([k, v]) => [h("dt", {}, k), h("dd", {}, v)]));
}

function show(title, trail, ...content) {
  crumbs.replaceChildren(...trail.flatMap((t, i) => (i ? [" / ", t] : [t])));
  view.replaceChildren(h("h1", {}, title), ...content.flat(Infinity).filter(Boolean));
  document.title = `${title} · opensfn`;
}

function failure(err) {
  const hint = err.type === "MissingAuthenticationToken" || err.type === "IncompleteSignature" ||
    err.type === "InvalidSignatureException" || err.type === "UnrecognizedClientException"
    ? " This server checks request signatures (--auth); the console works on servers without it."
    : "";
  view.replaceChildren(h("p", { class: "error" }, err.message + hint));
}

// ------------------------------------------------------------------ graph

function transitions(state) {
  const out = [];
  if (state.Next) out.push([state.Next, "next"]);
  if (state.Default) out.push([state.Default, "next"]);
  for (const c of state.Choices || []) if (c.Next) out.push([c.Next, "next"]);
  for (const c of state.Catch || []) if (c.Next) out.push([c.Next, "catch"]);
  if (state.End || state.Type === "Succeed" || state.Type === "Fail") out.push(["(end)", "next"]);
  return out;
}

// Layers by breadth-first order from StartAt; an edge to an earlier or the same layer
// is drawn as a curve on the side. Returns the SVG element.
function graph(definition, marks) {
  const states = definition.States || {};
  const names = Object.keys(states);
  const layer = new Map([[definition.StartAt, 0]]);
  const queue = [definition.StartAt];
  while (queue.length) {
    const name = queue.shift();
    for (const [to] of transitions(states[name] || {})) {
      if (!layer.has(to)) { layer.set(to, layer.get(name) + 1); queue.push(to); }
    }
  }
  let deepest = Math.max(0, ...layer.values());
  for (const name of names) if (!layer.has(name)) layer.set(name, ++deepest); // unreachable
  if (layer.has("(end)")) {
    const last = Math.max(...[...layer.entries()].filter(([n]) => n !== "(end)").map(([, l]) => l));
    layer.set("(end)", last + 1);
  }
  const rows = new Map();
  for (const [name, l] of layer) { if (!rows.has(l)) rows.set(l, []); rows.get(l).push(name); }
  const W = 170, H = 38, GX = 26, GY = 46, PAD = 24;
  const widest = Math.max(...[...rows.values()].map((r) => r.length));
  const width = widest * (W + GX) - GX + 2 * PAD + 60;
  const height = rows.size * (H + GY) - GY + 2 * PAD;
  const at = new Map();
  for (const [l, row] of rows) {
    const span = row.length * (W + GX) - GX;
    row.forEach((name, i) => at.set(name, { x: (width - span) / 2 + i * (W + GX), y: PAD + l * (H + GY) }));
  }
  const svg = s("svg", { width, height, viewBox: `0 0 ${width} ${height}`, role: "img" });
  svg.append(s("defs", {}, s("marker", { id: "arrow", viewBox: "0 0 10 10", refX: 9, refY: 5, markerWidth: 7, markerHeight: 7, orient: "auto-start-reverse" },
    s("path", { d: "M 0 0 L 10 5 L 0 10 z", fill: "#8c8c94" }))));
  for (const name of names) {
    const from = at.get(name);
    for (const [to, kind] of transitions(states[name])) {
      const dest = at.get(to);
      if (!dest) continue;
      let d;
      if (dest.y > from.y) {
        d = `M ${from.x + W / 2} ${from.y + H} L ${dest.x + W / 2} ${dest.y}`;
      } else { // back or sideways: around the right side
        const x = Math.max(from.x, dest.x) + W + 24;
        d = `M ${from.x + W} ${from.y + H / 2} C ${x} ${from.y + H / 2}, ${x} ${dest.y + H / 2}, ${dest.x + W} ${dest.y + H / 2}`;
      }
      svg.append(s("path", { d, class: "edge" + (kind === "catch" ? " catch" : ""), "marker-end": "url(#arrow)" }));
    }
  }
  for (const [name, p] of at) {
    const state = states[name];
    const cls = ["node", name === "(end)" ? "terminal" : "", marks[name] || ""].filter(Boolean).join(" ");
    const g = s("g", { class: cls, transform: `translate(${p.x},${p.y})`, "data-state": name });
    g.append(s("rect", { width: W, height: H, rx: name === "(end)" ? 17 : 6 }));
    const label = name.length > 24 ? name.slice(0, 23) + "…" : name;
    if (state) {
      g.append(s("text", { x: W / 2, y: 14 }, label), s("text", { x: W / 2, y: 28, class: "kind" }, state.Type || ""));
      g.append(s("title", {}, `${name} (${state.Type})`));
    } else {
      g.append(s("text", { x: W / 2, y: H / 2 }, name === "(end)" ? "End" : label));
    }
    svg.append(g);
  }
  return svg;
}

// What each top-level state did, read from the history: succeeded, failed or running.
function stateMarks(events, definition, execStatus) {
  const top = new Set(Object.keys(definition.States || {}));
  const marks = {}, open = [];
  for (const e of events) {
    const entered = e.stateEnteredEventDetails, exited = e.stateExitedEventDetails;
    if (entered && top.has(entered.name)) { marks[entered.name] = "running"; open.push(entered.name); }
    if (exited && top.has(exited.name)) {
      marks[exited.name] = "succeeded";
      const i = open.lastIndexOf(exited.name);
      if (i >= 0) open.splice(i, 1);
    }
    if (e.type.endsWith("Failed") && e.type !== "ExecutionFailed" && open.length) marks[open[open.length - 1]] = "failed";
  }
  if (execStatus !== "RUNNING") for (const name of open) if (marks[name] === "running") marks[name] = "failed";
  return marks;
}

// ------------------------------------------------------------------ views

async function home() {
  const [machines, activities] = await Promise.all([
    allPages("ListStateMachines", { maxResults: 1000 }, "stateMachines", 5000),
    allPages("ListActivities", { maxResults: 1000 }, "activities", 5000),
  ]);
  show("State machines", [link("#/", "State machines")],
    table(["Name", "Type", "Created"], machines.items.map((m) => [link(machineHash(m.stateMachineArn), m.name), m.type, when(m.creationDate)]),
      "No state machine in this region yet."),
    h("h2", {}, "Activities"),
    table(["Name", "ARN", "Created"], activities.items.map((a) => [a.name, a.activityArn, when(a.creationDate)]), "No activity."));
}

async function machine(arn) {
  const m = await api("DescribeStateMachine", { stateMachineArn: arn });
  const filter = new URLSearchParams(location.hash.split("?")[1] || "").get("status") || "";
  const body = { stateMachineArn: arn, maxResults: 100 };
  if (filter) body.statusFilter = filter;
  const execs = await allPages("ListExecutions", body, "executions", 500);
  const definition = JSON.parse(m.definition);
  const select = h("select", {
    onchange: (ev) => { location.hash = machineHash(arn) + (ev.target.value ? "?status=" + ev.target.value : ""); },
  }, ["", "RUNNING", "SUCCEEDED", "FAILED", "TIMED_OUT", "ABORTED", "PENDING_REDRIVE"].map((v) => h("option", { value: v, selected: v === filter ? "" : null }, v || "all")));
  show(m.name, [link("#/", "State machines"), link(machineHash(arn), m.name)],
    facts([["ARN", m.stateMachineArn], ["Type", m.type], ["Status", m.status], ["Created", when(m.creationDate)], ["Role", m.roleArn]]),
    h("h2", {}, "Graph"), h("div", { class: "graph" }, graph(definition, {})),
    h("h2", {}, "Executions"), h("div", { class: "toolbar" }, "Status ", select,
      execs.more ? h("span", { class: "muted" }, "(the newest 500)") : null),
    table(["Name", "Status", "Started", "Stopped"], execs.items.map((e) => [link(executionHash(e.executionArn), e.name), status(e.status), when(e.startDate), when(e.stopDate)]),
      "No execution" + (filter ? " with this status." : " yet.")),
    h("h2", {}, "Definition"), h("pre", {}, JSON.stringify(definition, null, 2)));
}

function detailsOf(event) {
  const key = Object.keys(event).find((k) => k.endsWith("EventDetails"));
  return key ? JSON.stringify(event[key]) : "";
}

async function execution(arn) {
  const [e, sm] = await Promise.all([
    api("DescribeExecution", { executionArn: arn }),
    api("DescribeStateMachineForExecution", { executionArn: arn }),
  ]);
  const history = await allPages("GetExecutionHistory", { executionArn: arn, maxResults: 1000 }, "events", 5000);
  // A Distributed Map's child: its parent; a parent: its Map Runs' child executions.
  const parent = e.mapRunArn ? (await api("DescribeMapRun", { mapRunArn: e.mapRunArn })).executionArn : null;
  const runs = e.mapRunArn ? [] : (await allPages("ListMapRuns", { executionArn: arn, maxResults: 1000 }, "mapRuns", 100)).items;
  const children = await Promise.all(runs.map((r) => allPages("ListExecutions", { mapRunArn: r.mapRunArn, maxResults: 1000 }, "executions", 1000)));
  const definition = JSON.parse(sm.definition);
  const t0 = history.items.length ? millis(history.items[0].timestamp) : 0;
  const rows = history.items.map((ev) => [
    h("td", { class: "num" }, ev.id), ev.type,
    h("td", { class: "num" }, `+${((millis(ev.timestamp) - t0) / 1000).toFixed(3)} s`),
    h("td", { class: "details" }, detailsOf(ev)),
  ]);
  const machineCrumb = parent ? sm.name : link(machineHash(e.stateMachineArn), sm.name);
  const childRows = runs.flatMap((r, i) => children[i].items.map((c) => [
    link(executionHash(c.executionArn), c.name), status(c.status), h("td", { class: "num" }, c.itemCount), when(c.startDate), when(c.stopDate)]));
  show(e.name, [link("#/", "State machines"), machineCrumb, link(executionHash(arn), e.name)],
    facts([["Status", status(e.status)], ["ARN", e.executionArn], ["Started", when(e.startDate)], ["Stopped", when(e.stopDate)],
      ["Error", e.error], ["Cause", e.cause], ["Redrives", e.redriveCount ? String(e.redriveCount) : undefined],
      ["Parent", parent ? link(executionHash(parent), parent.split(":").pop()) : undefined]]),
    h("h2", {}, "Graph"), h("div", { class: "graph" }, graph(definition, stateMarks(history.items, definition, e.status))),
    h("div", { class: "cols" },
      h("div", {}, h("h2", {}, "Input"), h("pre", { id: "input" }, pretty(e.input))),
      h("div", {}, h("h2", {}, "Output"), h("pre", { id: "output" }, pretty(e.output)))),
    runs.length ? [h("h2", {}, `Map Run child executions (${childRows.length})`),
      table(["Name", "Status", "Items", "Started", "Stopped"], childRows, "No child execution recorded (EXPRESS child workflows keep none).")] : null,
    h("h2", {}, `History (${history.items.length}${history.more ? "+" : ""} events)`),
    table(["ID", "Type", "Time", "Details"], rows, "No event."));
  if (e.status === "RUNNING") refreshTimer = setTimeout(route, 1500);
}

// ------------------------------------------------------------------ routing

async function route() {
  clearTimeout(refreshTimer);
  const [path] = location.hash.slice(1).split("?");
  const parts = path.split("/").filter(Boolean);
  try {
    if (parts[0] === "machine" && parts[1]) await machine(decodeURIComponent(parts[1]));
    else if (parts[0] === "execution" && parts[1]) await execution(decodeURIComponent(parts[1]));
    else await home();
    document.body.dataset.ready = "true";
  } catch (err) {
    failure(err);
    document.body.dataset.ready = "error";
  }
}

window.addEventListener("hashchange", route);
route();
