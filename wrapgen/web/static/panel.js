// The side panel: the selected node's name, form fields, placement, sweep, state and actions. It changes the
// node through the editor's functions (ctx), so it imports nothing of the editor's.
import { $, esc, fmtBytes, toast } from "./util.js";

let ctx = null;
export function init(editor) { ctx = editor; }

export function showPanel(node) {
  const { wg, FIELD_KINDS, fieldFor, setParam, syncWidgets, markStale, changed, run, nodeByName, canvas } = ctx;
  wg.selected = node;
  const t = wg.types[node.wgType], f = node.properties.fields, s = wg.states[node.properties.name] || {};
  $("ptitle").textContent = `${node.properties.name} — ${t.title}`;
  const body = $("pbody");
  body.innerHTML = "";
  const add = (html) => { const d = document.createElement("div"); d.innerHTML = html; body.appendChild(d); return d; };
  add(`<label>name</label><input id="f-name" value="${esc(node.properties.name)}">`);
  body.querySelector("#f-name").onchange = (e) => {
    const v = e.target.value.trim();
    if (v && v !== node.properties.name && /^[A-Za-z_][A-Za-z0-9_-]*$/.test(v) && !nodeByName(v)) {
      node.properties.name = v; node.title = v; changed();
    } else { toast(`${v}: a step name is a new identifier (letters, digits, _ and -)`); }
  };
  for (const p of t.params) {
    const v = fieldFor(node, p);
    const d = add(`<label title="${esc(p.doc || "")}">${esc(p.name)} <small>${esc(p.dtype)}${p.units ? " [" + esc(p.units) + "]" : ""}${p.required ? " required" : ""}</small></label>` +
      `<input id="f-${esc(p.name)}" data-param="${esc(p.name)}" value="${v === undefined ? "" : esc(typeof v === "object" ? JSON.stringify(v) : String(v))}"` +
      ` placeholder="${sweptNames(node).includes(p.name) ? "swept" : p.default ?? ""}">`);
    d.querySelector("input").onchange = (e) => {
      let v = e.target.value.trim();
      if (p.dtype !== "string" && !FIELD_KINDS.includes(t.kind) && v !== "") {
        const num = Number(v);
        if (p.dtype === "bool") v = v === "true";
        else if (Number.isNaN(num)) { toast(`${p.name}: expected a ${p.dtype}`); return; }
        else v = num;
      }
      setParam(node, p, v);
      syncWidgets(node);
      canvas.setDirty(true, true);
    };
  }
  if (t.kind === "python") {
    const names = (node.inputs || []).map((i) => i.name).join(", ");
    const d = add(`<label>inputs (names, comma-separated)</label><input id="f-inputs" value="${esc(names)}">` +
      `<label>params (JSON object)</label><input id="f-params" value="${esc(f.params ? JSON.stringify(f.params) : "")}">`);
    d.querySelector("#f-inputs").onchange = (e) => {
      const want = e.target.value.split(",").map((x) => x.trim()).filter((x) => x);
      if (want.some((x) => !/^[A-Za-z_][A-Za-z0-9_]*$/.test(x))) { toast("inputs: Python names, comma-separated"); return; }
      setInputs(node, want);
      markStale(node.properties.name); changed();
    };
    d.querySelector("#f-params").onchange = (e) => {
      try { if (e.target.value.trim()) f.params = JSON.parse(e.target.value); else delete f.params; }
      catch (err) { toast(`params: ${err.message}`); return; }
      markStale(node.properties.name); changed();
    };
  }
  if (t.kind === "compute") {
    const place = f.service ? "service" : f.job ? "job" : f.isolate ? "isolate" : "local";
    const d = add(`<label>placement</label><select id="f-placement"><option value="local">in-process</option>` +
      `<option value="isolate">in-process, isolated worker</option><option value="job">job</option>` +
      `<option value="service">WS-RF service</option></select><input id="f-target" placeholder="fork:// slurm:// dask://… or service URL" value="${esc(f.job || f.service || "")}">`);
    d.querySelector("select").value = place;
    const apply = () => {
      const kind = d.querySelector("select").value, target = d.querySelector("#f-target").value.trim();
      delete f.job; delete f.service; delete f.isolate;
      if (kind === "isolate") f.isolate = true;
      if (kind === "job") f.job = target || "fork://";
      if (kind === "service" && target) f.service = target;
      changed();  // where a step runs is not part of its key: nothing turns stale
    };
    d.querySelector("select").onchange = apply;
    d.querySelector("#f-target").onchange = apply;
  }
  if (t.kind === "compute" || t.kind === "call") {
    const d = add(`<label>sweep (JSON: {"product": {"ARG": [values]}})</label><input id="f-sweep" value="${esc(f.sweep ? JSON.stringify(f.sweep) : "")}">`);
    d.querySelector("input").onchange = (e) => {
      try { if (e.target.value.trim()) f.sweep = JSON.parse(e.target.value); else delete f.sweep; }
      catch (err) { toast(`sweep: ${err.message}`); return; }
      syncWidgets(node); markStale(node.properties.name); changed();
    };
  }
  if (s.state) {
    add(`<label>state</label><div id="f-state">${esc(s.state)}${s.points > 1 ? " (" + s.points + " points)" : ""}</div>` +
        (s.detail ? `<div>${esc(String(s.detail))}</div>` : "") +
        (s.stderr ? `<pre class="stderr">${esc(s.stderr)}</pre>` : "") +
        (s.transfer ? `<div>${fmtBytes(s.transfer.bytes)} in ${s.transfer.seconds.toFixed(2)} s</div>` : ""));
  }
  const a = add(`<div class="actions"><button id="f-rerun">Rerun from here</button>` +
                (s.points > 1 ? `<button id="f-rerunfailed">Rerun failed points</button>` : "") + `</div>`);
  a.querySelector("#f-rerun").onclick = () => run({ rerun: node.properties.name });
  const rf = a.querySelector("#f-rerunfailed");
  if (rf) rf.onclick = () => run({ failed_of: node.properties.name });
}

function sweptNames(node) {
  const sw = node.properties.fields.sweep || {};
  return Object.keys(sw.product || {}).concat(Object.keys(sw.zip || {}));
}

// a python node's input slots: the names asked for (a wired slot that is dropped takes its link with it)
export function setInputs(node, names) {
  for (let i = (node.inputs || []).length - 1; i >= 0; i--) if (!names.includes(node.inputs[i].name)) node.removeInput(i);
  for (const n of names) if (node.findInputSlot(n) < 0) node.addInput(n, "*");
  node.size = node.computeSize();
  node.size[0] = Math.max(node.size[0], 220);
}
