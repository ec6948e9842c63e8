// Small DOM helpers: elements built with textContent only (names are data,
// never markup), and number formatting in the reader's locale.

export function h(tag, attrs = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(attrs)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "class") node.className = value;
    else if (key === "text") node.textContent = value;
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child === null || child === undefined || child === false) continue;
    node.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
  }
  return node;
}

const integer = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });

export function n(value) {
  return value === null || value === undefined ? "—" : integer.format(value);
}

// Percentages arrive as exact strings ("54.21"); shown as they are, with the sign.
export function pct(value) {
  return value === null || value === undefined ? "—" : `${value}%`;
}

// A share bar; `color` (a checked "#rrggbb") paints it in a party's colour. Set through
// the CSSOM, which the page's CSP (style-src 'self') allows, unlike style attributes.
export function bar(share, role = "", color = null) {
  const fill = h("span", { class: `fill ${role}` });
  fill.style.setProperty("width", `${Math.max(0, Math.min(100, Number(share) || 0))}%`);
  if (color) fill.style.setProperty("background-color", color);
  return h("span", { class: "bar" }, fill);
}

// A party's name with its colour swatch; the full name on hover.
export function partyLabel(party, cls = "party-name") {
  const swatch = h("span", { class: "swatch", "aria-hidden": "true" });
  swatch.style.setProperty("background-color", party.color);
  return h("span", { class: cls, title: party.name, "data-party": party.id }, swatch, party.short);
}

export function setText(id, text) {
  const node = document.getElementById(id);
  if (node && node.textContent !== text) node.textContent = text;
}

export function time(date) {
  return date ? date.toLocaleTimeString(undefined, { hour12: false }) : "—";
}
