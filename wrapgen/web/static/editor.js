// The wrapgen pipeline editor: a litegraph canvas over the editor's JSON API (wrapgen/web/server.py).
//
// Why litegraph (0.7.18, MIT, vendored as its prebuilt core file): of the node editors that load with no build
// step, it is the one that refuses a mismatched link in the library itself (LiteGraph.isValidConnection, which we
// point at ports.js), it has no framework to bundle, and it is the canvas ComfyUI's users know. Undo/redo is ours:
// a stack of documents, which is also what is saved.
import { mismatch } from "./ports.js";
import { init as initPanel, setInputs, showPanel } from "./panel.js";
import { $, api, esc, fmtBytes, listProblems, message, token, toast } from "./util.js";

const LG = window.LiteGraph;
const FIELD_KINDS = ["stage_in", "stage_out", "python"];  // their form fields are step fields, not params
const COLORS = {
  "stale": "#8a6d00", "queued": "#555", "staging-in": "#1f5f8b", "staging-out": "#1f5f8b", "verifying": "#2a5f6f",
  "running": "#2060c0", "done-ran": "#2e7d32", "done-cached": "#2f5f4f", "skipped-by-early-cutoff": "#3f6f3f",
  "failed": "#b71c1c",
};

// wg is the page's state for tests and benchmarks: seen["step:state"] is when (epoch ms) a state first arrived
const wg = (window.wg = { ready: false, states: {}, problems: [], types: {}, events: 0, errors: [], seen: {} });
let graph, canvas, doc = null, undo = [], redo = [], lastSaved = "", syncTimer = null, loading = false;

// --- node types -----------------------------------------------------------------------------------------------
function registerType(t) {
  const key = "wg/" + encodeURIComponent(t.id);
  wg.types[t.id] = t;
  function Node() {
    for (const i of t.inputs) this.addInput(i.name, i.type);
    for (const o of t.outputs) this.addOutput(o.name, o.type);
    this.properties = { name: "", fields: {} };
    this.wgType = t.id;
    for (const p of t.params) {
      if (FIELD_KINDS.includes(t.kind) || p.dtype === "string") {
        this.addWidget("text", p.name, "", (v) => setParam(this, p, v));
      } else if (p.dtype === "bool") {
        this.addWidget("toggle", p.name, false, (v) => setParam(this, p, v));
      } else {
        const isInt = p.dtype.startsWith("int") || p.dtype.startsWith("uint");
        this.addWidget("number", p.name, p.default ?? 0, (v) => setParam(this, p, v),
          { min: p.min ?? undefined, max: p.max ?? undefined, step: isInt ? 10 : 1, precision: isInt ? 0 : 4 });
      }
    }
    this.size = this.computeSize();
    this.size[0] = Math.max(this.size[0], 220);
  }
  Node.title = t.title;
  Node.prototype.onDrawForeground = drawState;
  Node.prototype.getExtraMenuOptions = function () {
    const name = this.properties.name;
    return [
      { content: "Rerun from here", callback: () => run({ rerun: name }) },
      { content: "Rerun failed points", callback: () => run({ failed_of: name }) },
    ];
  };
  Node.prototype.onSelected = function () { showPanel(this); };
  Node.prototype.onConnectionsChange = function () { syncWidgets(this); };
  LG.registerNodeType(key, Node);
  return key;
}

function fieldFor(node, p) {
  const f = node.properties.fields;
  if (FIELD_KINDS.includes(wg.types[node.wgType].kind)) return f[p.name];
  return (f.params || {})[p.name];
}

function setParam(node, p, v) {
  const f = node.properties.fields, kind = wg.types[node.wgType].kind;
  if (FIELD_KINDS.includes(kind)) {
    f[p.name] = v;
  } else {
    f.params = f.params || {};
    if (v === "" || v === null) delete f.params[p.name];
    else f.params[p.name] = v;
  }
  markStale(node.properties.name);
  changed();
}

function syncWidgets(node) {
  const t = wg.types[node.wgType];
  for (const w of node.widgets || []) {
    const p = t.params.find((q) => q.name === w.name);
    const v = p ? fieldFor(node, p) : undefined;
    if (v !== undefined) w.value = v;
    const slot = node.findInputSlot ? node.findInputSlot(w.name) : -1;
    const sweep = node.properties.fields.sweep || {};
    const swept = w.name in (sweep.product || {}) || w.name in (sweep.zip || {});
    // a wired input takes its value from the wire, a swept one from the sweep
    w.disabled = swept || (slot >= 0 && node.inputs[slot].link != null);
  }
}

function drawState(ctx) {
  const s = wg.states[this.properties.name];
  const problems = wg.problems.filter((p) => p.step === this.properties.name);
  let y = this.size[1] + 14;
  ctx.font = "12px sans-serif";
  if (s) {
    ctx.fillStyle = COLORS[s.state] || "#888";
    let text = s.state;
    if (s.points > 1) text = `${s.points} points: ` + Object.entries(s.counts).map(([k, v]) => `${v} ${k}`).join(", ");
    if (s.transfer) text += `  ${fmtBytes(s.transfer.bytes)} at ${fmtBytes(s.transfer.rate)}/s`;
    ctx.fillText(text, 4, y);
    y += 14;
    if (s.detail) { ctx.fillStyle = "#bbb"; ctx.fillText(String(s.detail).slice(0, 70), 4, y); y += 14; }
  }
  if (problems.length) {
    ctx.fillStyle = "#f66";
    ctx.fillText("⚠ " + problems[0].message.split(": ").slice(-1)[0].slice(0, 80), 4, y);
  }
}

// --- the document <-> the canvas ----------------------------------------------------------------------------------
function nodeByName(name) { return graph._nodes.find((n) => n.properties.name === name); }

function uniqueName(base) {
  let name = base.replace(/[^A-Za-z0-9_-]/g, "_").replace(/^[^A-Za-z_]/, "n"), i = 2;
  const taken = new Set(graph._nodes.map((n) => n.properties.name));
  const stem = name;
  while (taken.has(name)) name = `${stem}_${i++}`;
  return name;
}

function toDoc() {
  const byId = {};
  for (const n of graph._nodes) byId[n.id] = n;
  const nodes = graph._nodes.map((n) => ({
    id: n.properties.name, type: n.wgType, kind: wg.types[n.wgType].kind,
    fields: JSON.parse(JSON.stringify(n.properties.fields)), pos: [Math.round(n.pos[0]), Math.round(n.pos[1])],
  }));
  const links = [];
  for (const l of Object.values(graph.links || {})) {
    if (!l) continue;
    const a = byId[l.origin_id], b = byId[l.target_id];
    if (!a || !b) continue;
    links.push({ from: a.properties.name, output: a.outputs[l.origin_slot].name,
                 to: b.properties.name, input: b.inputs[l.target_slot].name });
  }
  nodes.sort((x, y) => x.id.localeCompare(y.id));
  links.sort((x, y) => (x.to + x.input).localeCompare(y.to + y.input));
  return { name: doc?.name || "pipeline", doc: doc?.doc || "", defaults: doc?.defaults || {}, nodes, links };
}

function typeFor(n) {
  if (wg.types[n.type]) return n.type;
  // a step whose spec or service is not in the palette: a node with the ports its file names
  const t = { id: n.type, kind: n.kind, title: n.id, group: "(not in the palette)", doc: "", params: [],
              inputs: [], outputs: (n.fields.outputs || []).map((o) => ({ name: o, type: "*" })) };
  registerType(t);
  return t.id;
}

function loadDoc(d) {
  loading = true;
  graph.clear();
  doc = d;
  const made = {};
  for (const n of d.nodes) {
    const node = LG.createNode("wg/" + encodeURIComponent(typeFor(n)));
    node.properties = { name: n.id, fields: JSON.parse(JSON.stringify(n.fields)) };
    node.title = `${n.id}`;
    node.pos = n.pos || [40, 40];
    syncWidgets(node);
    graph.add(node);
    made[n.id] = node;
  }
  for (const l of d.links) {
    const a = made[l.from], b = made[l.to];
    if (!a || !b) continue;
    if (b.wgType === "python" && b.findInputSlot(l.input) < 0) setInputs(b, [...b.inputs.map((x) => x.name), l.input]);
    const o = a.findOutputSlot(l.output), i = b.findInputSlot(l.input);
    if (o >= 0 && i >= 0) connectRaw(a, o, b, i);
  }
  loading = false;
  paintStates();
}

// --- typed links ------------------------------------------------------------------------------------------------
const connectRaw = (a, o, b, i) => LG.LGraphNode.prototype.connect.__raw.call(a, o, b, i);
(function guardLinks() {
  const raw = LG.LGraphNode.prototype.connect;
  LG.LGraphNode.prototype.connect = function (slot, target, targetSlot) {
    const out = typeof slot === "number" ? this.outputs[slot] : this.outputs[this.findOutputSlot(slot)];
    const inp = target && typeof targetSlot === "number" ? target.inputs[targetSlot] : null;
    if (out && inp) {
      const why = mismatch(out.type, inp.type);
      if (why) {
        wg.refused = why;
        toast(`link refused: ${why}`);
        return null;
      }
    }
    const link = raw.call(this, slot, target, targetSlot);
    if (link && !loading) { markStale(target.properties.name); changed(); }
    return link;
  };
  LG.LGraphNode.prototype.connect.__raw = raw;
  LG.isValidConnection = (a, b) => !a || !b || mismatch(String(a), String(b)) === null;
})();

// --- states ----------------------------------------------------------------------------------------------------------
function descendants(name) {
  const out = new Set([name]), todo = [name];
  const d = toDoc();
  while (todo.length) {
    const cur = todo.pop();
    for (const l of d.links) if (l.from === cur && !out.has(l.to)) { out.add(l.to); todo.push(l.to); }
  }
  return out;
}

function markStale(name) {
  // the ViPEr rule: an edit makes the node and its descendants stale, nothing else (the server says the same
  // once the file is saved and planned)
  for (const n of descendants(name)) {
    if (wg.states[n] && wg.states[n].state !== "stale") wg.states[n] = { ...wg.states[n], state: "stale", detail: "edited" };
  }
  paintStates();
}

function paintStates() {
  for (const n of graph._nodes) {
    const s = wg.states[n.properties.name];
    n.color = s ? COLORS[s.state] : undefined;
    n.boxcolor = wg.problems.some((p) => p.step === n.properties.name) ? "#f44" : undefined;
  }
  canvas.setDirty(true, true);
}

function applyDelta(delta) {
  wg.events++;
  if (delta.full) wg.states = {};
  for (const [step, info] of Object.entries(delta.steps || {})) {
    if (info === null) delete wg.states[step];
    else {
      wg.states[step] = { ...info, at: performance.now() };
      wg.seen[`${step}:${info.state}`] ??= performance.timeOrigin + performance.now();
    }
  }
  if (delta.message !== undefined) message(delta.message);
  if (delta.running !== undefined) { wg.running = delta.running; $("run").disabled = delta.running; }
  paintStates();
  if (wg.selected) showPanel(wg.selected);
}

function listen() {
  const es = new EventSource(`/api/events?token=${encodeURIComponent(token)}`);
  es.onmessage = (e) => applyDelta(JSON.parse(e.data));
  es.onerror = () => message("lost the editor's event stream; retrying");
  wg.source = es;
}

// --- saving and undo ---------------------------------------------------------------------------------------------
function changed() {
  if (loading) return;
  clearTimeout(syncTimer);
  syncTimer = setTimeout(save, 250);
}

async function save() {
  const d = toDoc(), text = JSON.stringify(d);
  if (text === lastSaved) return;
  undo.push(lastSaved);
  redo = [];
  await push(d, text);
}

// One save in flight at a time, the newest document next: answers (and writes) never arrive out of order, so
// the file and the YAML view always end with the last edit.
let inflight = false, queued = null;
async function push(d, text) {
  lastSaved = text;
  queued = d;
  if (inflight) return;
  inflight = true;
  try {
    while (queued) {
      const body = queued;
      queued = null;
      try {
        const r = await api("/api/save", { graph: body });
        if (!queued) showDocument(r, false);
      } catch (e) { toast(e.message); }
    }
  } finally { inflight = false; }
}

function showDocument(r, reload) {
  wg.problems = r.problems || [];
  $("yaml").value = r.yaml;
  listProblems($("problems"), wg.problems);
  if (reload && r.graph) {
    loadDoc(r.graph);
    lastSaved = JSON.stringify(toDoc());
  }
  $("title").textContent = r.path;
  paintStates();
}

async function restore(fromStack, toStack) {
  if (!fromStack.length) return;
  toStack.push(lastSaved);
  const text = fromStack.pop();
  const d = JSON.parse(text || '{"nodes":[],"links":[]}');
  loadDoc({ ...doc, ...d });
  await push(d, text);
}

// --- palette ----------------------------------------------------------------------------------------------------------
async function loadPalette() {
  const p = await api("/api/palette");
  const box = $("types");
  box.innerHTML = "";
  let group = null;
  for (const t of p.types) {
    registerType(t);
    if (t.group !== group) {
      group = t.group;
      const g = document.createElement("div");
      g.className = "group";
      g.textContent = group;
      box.appendChild(g);
    }
    const d = document.createElement("div");
    d.className = "ptype";
    d.draggable = true;
    d.dataset.type = t.id;
    d.title = t.doc || "";
    d.innerHTML = `${esc(t.title)}<small>${esc(t.inputs.map((i) => i.name + ": " + i.type).join(", "))}</small>`;
    d.ondragstart = (e) => e.dataTransfer.setData("text/x-wrapgen-type", t.id);
    box.appendChild(d);
  }
  listProblems($("paletteproblems"), p.problems);
}

function addNode(typeId, pos) {
  const t = wg.types[typeId];
  const node = LG.createNode("wg/" + encodeURIComponent(typeId));
  const fields = {};
  if (t.kind === "compute") fields.compute = t.ref;
  if (t.kind === "call") { fields.call = t.ref; fields.outputs = t.outputs.map((o) => o.name); }
  if (t.kind === "stage_in") fields.stage_in = "";
  for (const p of t.params) if (p.default !== undefined && p.default !== null && t.kind === "compute") {
    fields.params = fields.params || {};
    fields.params[p.name] = p.default;
  }
  node.properties = { name: uniqueName(t.kind === "compute" || t.kind === "call" ? t.title : t.kind), fields };
  node.title = node.properties.name;
  node.pos = pos;
  syncWidgets(node);
  graph.add(node);
  wg.states[node.properties.name] = { state: "stale", detail: "new" };
  paintStates();
  changed();
  return node;
}

// --- view -------------------------------------------------------------------------------------------------------------
function fit() {
  if (!graph._nodes.length) return;
  let x0 = Infinity, y0 = Infinity, x1 = -Infinity, y1 = -Infinity;
  for (const n of graph._nodes) {
    x0 = Math.min(x0, n.pos[0]); y0 = Math.min(y0, n.pos[1] - 30);
    x1 = Math.max(x1, n.pos[0] + n.size[0]); y1 = Math.max(y1, n.pos[1] + n.size[1] + 40);
  }
  const el = canvas.canvas, pad = 40;
  const s = Math.min((el.width - pad) / (x1 - x0), (el.height - pad) / (y1 - y0), 1.5);
  canvas.ds.scale = Math.max(s, 0.1);
  canvas.ds.offset = [(el.width / canvas.ds.scale - (x1 - x0)) / 2 - x0, (el.height / canvas.ds.scale - (y1 - y0)) / 2 - y0];
  canvas.setDirty(true, true);
}

function resize() {
  const box = $("canvasbox");
  canvas.resize(box.clientWidth, box.clientHeight);
}

async function run(body) {
  try {
    await save();
    const r = await api("/api/run", body || {});
    message(`running ${r.nodes} nodes`);
  } catch (e) { toast(e.message); message(e.message.split("\n")[0]); }
}

function keys(e) {
  if (e.target.tagName === "INPUT" || e.target.tagName === "TEXTAREA") return;
  const mod = e.ctrlKey || e.metaKey;
  if (mod && e.key === "z") { e.preventDefault(); restore(undo, redo); }
  else if (mod && (e.key === "y" || (e.shiftKey && e.key === "Z"))) { e.preventDefault(); restore(redo, undo); }
  else if (mod && e.key === "s") { e.preventDefault(); save(); }
  else if (mod && e.key === "Enter") { e.preventDefault(); run(); }
  else if (!mod && e.key === "f") fit();
  else if (!mod && e.key === "l") { graph.arrange(80); changed(); fit(); }
  else if (!mod && e.key === "t") $("yamlbox").hidden = !$("yamlbox").hidden;
}

async function main() {
  window.addEventListener("error", (e) => wg.errors.push(String(e.message)));
  graph = new LG.LGraph();
  canvas = new LG.LGraphCanvas("#canvas", graph);
  canvas.allow_searchbox = false;
  canvas.show_info = false;
  initPanel({ wg, FIELD_KINDS, fieldFor, setParam, syncWidgets, markStale, changed, run, nodeByName, canvas });
  wg.graph = graph; wg.canvas = canvas; wg.nodeByName = nodeByName; wg.fit = fit; wg.mismatch = mismatch;
  wg.toDoc = toDoc; wg.addNode = addNode;
  // where a slot or a node's title is on the screen (tests drive the canvas with the real mouse)
  const screen = (p) => {
    const c = canvas.ds.convertOffsetToCanvas(p), r = canvas.canvas.getBoundingClientRect();
    return [r.left + c[0], r.top + c[1]];
  };
  wg.slotScreen = (name, input, slot) => {
    const n = nodeByName(name), i = input ? n.findInputSlot(slot) : n.findOutputSlot(slot);
    return screen(n.getConnectionPos(input, i));
  };
  wg.titleScreen = (name) => { const n = nodeByName(name); return screen([n.pos[0] + 60, n.pos[1] - 15]); };
  resize();
  window.addEventListener("resize", resize);
  graph.onNodeAdded = (n) => {
    if (loading || !n.properties) return;
    if (graph._nodes.filter((m) => m.properties.name === n.properties.name).length > 1) {
      n.properties = { ...n.properties, fields: JSON.parse(JSON.stringify(n.properties.fields)) };
      n.properties.name = uniqueName(n.properties.name);  // a pasted copy gets a name of its own
      n.title = n.properties.name;
    }
    changed();
  };
  graph.onNodeRemoved = () => changed();
  const el = $("canvas");
  el.addEventListener("pointerup", () => changed());
  el.addEventListener("keyup", () => changed());
  const box = $("canvasbox");
  box.addEventListener("dragover", (e) => e.preventDefault());
  box.addEventListener("drop", (e) => {
    e.preventDefault();
    const id = e.dataTransfer.getData("text/x-wrapgen-type");
    if (id && wg.types[id]) addNode(id, canvas.convertEventToCanvasOffset(e));
  });
  document.addEventListener("keydown", keys);
  $("run").onclick = () => run();
  $("cancel").onclick = () => api("/api/cancel", {}).then(() => message("cancelling")).catch((e) => toast(e.message));
  $("undo").onclick = () => restore(undo, redo);
  $("redo").onclick = () => restore(redo, undo);
  $("layout").onclick = () => { graph.arrange(80); changed(); fit(); };
  $("fit").onclick = fit;
  $("textview").onclick = () => { $("yamlbox").hidden = !$("yamlbox").hidden; };
  $("report").href = `/api/report.png?token=${encodeURIComponent(token)}`;
  $("applyyaml").onclick = async () => {
    try { showDocument(await api("/api/save", { yaml: $("yaml").value }), true); }
    catch (e) { toast(e.message); }
  };
  $("addservice").onsubmit = async (e) => {
    e.preventDefault();
    try {
      const r = await api("/api/services", { url: $("wsdl").value.trim() });
      await loadPalette();
      message(`added ${r.added.length} operation(s)`);
    } catch (err) { toast(err.message); }
  };
  await loadPalette();
  const d = await api("/api/document");
  showDocument(d, true);
  if (!d.graph) { doc = { name: d.path.split("/").pop().replace(/\.ya?ml$/, ""), nodes: [], links: [] }; }
  undo = [];
  listen();
  fit();
  wg.ready = true;
}

main().catch((e) => { wg.errors.push(String(e)); toast(String(e)); });
