// Small helpers the editor's modules share: the API with the page's token, messages, formats.
export const token = new URLSearchParams(location.search).get("token") || "";
export const $ = (id) => document.getElementById(id);

export async function api(path, body) {
  const opts = { headers: { "X-Wrapgen-Token": token } };
  if (body !== undefined) {
    opts.method = "POST";
    opts.headers["Content-Type"] = "application/json";
    opts.body = JSON.stringify(body);
  }
  const r = await fetch(path, opts);
  const data = await r.json();
  if (!r.ok) throw new Error(data.error || r.statusText);
  return data;
}

export function toast(text) {
  const t = $("toast");
  t.textContent = text;
  t.classList.add("show");
  clearTimeout(toast.timer);
  toast.timer = setTimeout(() => t.classList.remove("show"), 6000);
}

export function message(text) { $("message").textContent = text || ""; }

export function fmtBytes(n) {
  const u = ["B", "KiB", "MiB", "GiB"];
  let i = 0;
  while (n >= 1024 && i < u.length - 1) { n /= 1024; i++; }
  return `${n.toFixed(i ? 1 : 0)} ${u[i]}`;
}

export function esc(s) { return String(s).replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`); }

// Show problems ({message}) in box, one line each, as text (never as HTML).
export function listProblems(box, problems) {
  box.replaceChildren(...problems.map((p) => {
    const div = document.createElement("div");
    div.className = "problem";
    div.textContent = p.message;
    return div;
  }));
}
