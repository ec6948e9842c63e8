// Turnout by hour as an inline SVG line chart; no library, no network.
//
// drawTurnoutChart(svg, marks, series): marks are "HH:MM" labels; each series
// is {id, label, values: [number|null per mark], role: "national" | "selected" |
// "other"}. A null value (a mark nobody reported yet) breaks the line there.

const NS = "http://www.w3.org/2000/svg";
const W = 640, H = 280, LEFT = 44, RIGHT = 16, TOP = 16, BOTTOM = 34;

function el(name, attrs, parent) {
  const node = document.createElementNS(NS, name);
  for (const [key, value] of Object.entries(attrs)) node.setAttribute(key, String(value));
  if (parent) parent.appendChild(node);
  return node;
}

function niceMax(values) {
  const top = Math.max(10, ...values.filter((v) => v !== null));
  return Math.min(100, Math.ceil(top / 10) * 10);
}

function pathOf(values, x, y) {
  let d = "";
  let pen = false;
  values.forEach((v, i) => {
    if (v === null) { pen = false; return; }
    d += `${pen ? "L" : "M"}${x(i).toFixed(1)},${y(v).toFixed(1)}`;
    pen = true;
  });
  return d;
}

export function drawTurnoutChart(svg, marks, series) {
  svg.replaceChildren();
  svg.setAttribute("viewBox", `0 0 ${W} ${H}`);
  const all = series.flatMap((s) => s.values);
  const yMax = niceMax(all);
  const span = Math.max(1, marks.length - 1);
  const x = (i) => LEFT + (i * (W - LEFT - RIGHT)) / span;
  const y = (v) => TOP + (1 - v / yMax) * (H - TOP - BOTTOM);

  const grid = el("g", { class: "grid" }, svg);
  for (let v = 0; v <= yMax; v += yMax > 50 ? 20 : 10) {
    el("line", { x1: LEFT, x2: W - RIGHT, y1: y(v), y2: y(v) }, grid);
    el("text", { x: LEFT - 6, y: y(v) + 4, "text-anchor": "end" }, grid).textContent = `${v}%`;
  }
  marks.forEach((mark, i) => {
    el("text", { x: x(i), y: H - 12, "text-anchor": "middle" }, grid).textContent = mark;
  });

  const order = { other: 0, selected: 1, national: 2 };
  const drawn = [...series].sort((a, b) => order[a.role] - order[b.role]);
  for (const s of drawn) {
    const d = pathOf(s.values, x, y);
    if (!d) continue;
    const path = el("path", { d, class: `line ${s.role}`, "data-series": s.id }, svg);
    el("title", {}, path).textContent = s.label;
    if (s.role === "other") continue;
    s.values.forEach((v, i) => {
      if (v === null) return;
      const dot = el("circle", { cx: x(i), cy: y(v), r: 3.5, class: `dot ${s.role}` }, svg);
      el("title", {}, dot).textContent = `${s.label} ${marks[i]}: ${v.toFixed(2)}%`;
    });
  }
  if (!all.some((v) => v !== null)) {
    el("text", { x: W / 2, y: H / 2, "text-anchor": "middle", class: "empty" }, svg)
      .textContent = "No turnout reported yet";
  }
}

// A mark's turnout as a number, or null while no precinct reported it.
export function markValues(view, marks) {
  const byMark = new Map((view?.turnout_by_mark || []).map((m) => [m.mark, m]));
  return marks.map((mark) => {
    const line = byMark.get(mark);
    return line && line.precincts_reported > 0 ? Number(line.pct) : null;
  });
}
