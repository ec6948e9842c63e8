// The region table of a race spanning regions, and its district drill-down
// (the data and its channels: units.js).
//
// One row per region heard from: region, leader (candidate, and party in its
// colour), the leader's share (of the unit's ballots cast), % of its precincts
// reporting (the view's `precincts_reporting_pct`: never a false 0 or 100), turnout (of the precincts reporting). Sorted by name, or by the
// column heading picked. A region's button opens its districts as rows beneath
// it. Precincts of units with no result yet (no view) are counted in a closing
// row, so the table always adds up to the race. On a phone the share moves into
// the leader cell and counts are dropped (style.css), so nothing overflows.

import { bar, h, n, pct } from "./dom.js";

const SORTS = {
  name: { label: "Region", short: "Region", cmp: (a, b) => a.name.localeCompare(b.name, undefined, { numeric: true }) || a.unit_id.localeCompare(b.unit_id) },
  share: { label: "Share", short: "Share", cmp: (a, b) => leadShare(b) - leadShare(a) },
  reporting: { label: "Reporting", short: "Rep.", cmp: (a, b) => fraction(b) - fraction(a) },
  turnout: { label: "Turnout", short: "Turnout", cmp: (a, b) => Number(b.turnout_pct) - Number(a.turnout_pct) },
};

function leadShare(unit) {
  return Number(unit.candidates.find((c) => c.candidate_id === unit.leader)?.pct || -1);
}

function fraction(unit) {
  return unit.precincts_total ? unit.precincts_reporting / unit.precincts_total : 0;
}

function sorted(views, key) {
  const cmp = (SORTS[key] || SORTS.name).cmp;
  return [...views.values()].sort((a, b) => cmp(a, b) || SORTS.name.cmp(a, b));
}

function leaderCells(unit, race, parties) {
  const line = unit.candidates.find((c) => c.candidate_id === unit.leader);
  if (!unit.leader || !line || !unit.precincts_reporting) {
    return [h("td", { class: "lead muted", text: "—" }), h("td", { class: "num share", text: "—" })];
  }
  const cand = race.candidates.find((c) => c.candidate_id === unit.leader);
  const party = parties.get(cand?.party);
  const swatch = h("span", { class: "swatch", "aria-hidden": "true" });
  swatch.style.setProperty("background-color", party.color);
  return [
    h("td", { class: "lead", "data-leader": unit.leader, "data-party": party.id },
      h("span", { class: "lead-name", title: cand?.name || unit.leader }, swatch, cand?.name || unit.leader),
      h("span", { class: "lead-sub muted small" },
        h("span", { class: "lead-party", title: party.name, text: party.short }),
        h("span", { class: "lead-share", text: pct(line.pct) }))),
    h("td", { class: "num share", text: pct(line.pct) }),
  ];
}

function unitRow(unit, units, parties, { opener = false } = {}) {
  const open = units.open === unit.unit_id;
  const name = opener
    ? h("button", { type: "button", class: "unit-open", "aria-expanded": open ? "true" : "false",
                    onclick: () => units.toggle(unit.unit_id) },
      h("span", { class: "chevron", "aria-hidden": "true", text: open ? "▾" : "▸" }), unit.name)
    : unit.name;
  return h("tr", { class: `${unit.level}${open ? " open" : ""}`, "data-unit": unit.unit_id,
                   "data-level": unit.level },
    h("th", { scope: "row" }, name),
    leaderCells(unit, units.raceView, parties),
    h("td", { class: "num reporting" },
      h("span", { class: "reporting-pct", text: pct(unit.precincts_reporting_pct) }),
      h("span", { class: "count muted small",
                  text: ` ${n(unit.precincts_reporting)}/${n(unit.precincts_total)}` }),
      bar(100 * fraction(unit))),
    h("td", { class: "num turnout", text: unit.precincts_reporting ? pct(unit.turnout_pct) : "—" }));
}

function restRow(level, whole, views, cls) {
  let held = 0;
  for (const v of views.values()) held += v.precincts_total;
  const rest = whole - held;
  if (rest <= 0) return null;
  const where = level === "region" ? "in regions not reporting yet"
    : "in districts not reporting yet, or in no district";
  return h("tr", { class: `rest ${cls}` },
    h("td", { colspan: 5, class: "muted small", text: `${n(rest)} more ${rest === 1 ? "precinct" : "precincts"} ${where}` }));
}

function drillRows(region, units, parties) {
  const note = units.mode.district === "poll" ? "updated every 10 s" : "live";
  const state = units.failed.district ? "could not be loaded; retrying"
    : units.loading.district && !units.districts.size ? "loading…"
    : !units.districts.size ? "no district has reported yet" : note;
  const rows = [h("tr", { class: "drill-head" },
    h("td", { colspan: 5, class: "small", "data-testid": "drill-head" },
      h("strong", { text: `Districts of ${region.name}` }), h("span", { class: "muted", text: ` · ${state}` })))];
  for (const d of sorted(units.districts, units.sortKey)) rows.push(unitRow(d, units, parties));
  rows.push(restRow("district", region.precincts_total, units.districts, "district"));
  return rows;
}

function heading(key, units) {
  const active = units.sortKey === key;
  return h("th", { scope: "col", class: key === "name" ? "" : `num ${key}`,
                   "aria-sort": active ? (key === "name" ? "ascending" : "descending") : null },
    h("button", { type: "button", class: active ? "sort active" : "sort", onclick: () => units.sortBy(key),
                  title: `Sort by ${SORTS[key].label.toLowerCase()}` },
      h("span", { class: "long", text: SORTS[key].label }), h("span", { class: "short", text: SORTS[key].short })));
}

export function renderUnitTable(target, units, parties) {
  const race = units.raceView;
  const body = [];
  for (const region of sorted(units.regions, units.sortKey)) {
    body.push(unitRow(region, units, parties, { opener: true }));
    if (units.open === region.unit_id) body.push(...drillRows(region, units, parties));
  }
  body.push(restRow("region", race.precincts_total, units.regions, "region"));
  const caption = units.failed.region ? "could not be loaded; retrying"
    : units.loading.region && !units.regions.size ? "loading…"
    : !units.regions.size ? "no region has reported yet" : "pick a region for its districts";
  target.replaceChildren(
    h("h4", { text: "By region" }, h("span", { class: "muted small", text: ` · ${caption}` })),
    h("div", { class: "scroll" },
      h("table", { class: "units", "data-testid": "unit-table" },
        h("thead", {}, h("tr", {}, heading("name", units), h("th", { scope: "col", text: "Leader" }),
          heading("share", units), heading("reporting", units), heading("turnout", units))),
        h("tbody", {}, body))));
}
