// The anomalies panel: anomalies:E as it happens, for an editor to act on.
//
// The channel's snapshot is the window of the newest anomalies ({anomalies, count});
// each update is one anomaly with its seq (docs/live-protocol.md, "Anomalies"). Older
// ones than the window are paged in from REST (?before=<seq>, up to KEPT), and a seq
// that jumps (the connection fell behind) is filled in from REST (?after=<seq>), so
// nothing is missed. Each row says what, where (race, precinct), when and who sent
// it; "Open race" shows the race, "Acknowledge" marks it done on this browser
// (localStorage), and acknowledged rows hide unless asked for.

import { h, n } from "./dom.js";

const LABELS = {
  turnout_decreased: "Turnout fell",
  result_below_turnout: "Result below turnout",
  revision_conflict: "Conflicting protocols",
  report_id_conflict: "Report id reused",
  call_disagrees: "Call disagrees with the count",
};
const KEPT = 1000;   // anomalies held in the page
const SHOWN = 200;   // rows drawn

function label(a) {
  return a.source === "dead_letter" ? `Refused: ${a.code.replaceAll("_", " ")}` : LABELS[a.code] || a.code;
}

function when(iso) {
  if (!iso) return "—";
  const date = new Date(iso);
  return Number.isNaN(date.getTime()) ? iso : date.toLocaleTimeString(undefined, { hour12: false });
}

export class AnomalyPanel {
  constructor({ election, fetchJson, onOpenRace, onChange }) {
    this.election = election;
    this.fetchJson = fetchJson;
    this.onOpenRace = onOpenRace;
    this.onChange = onChange;
    this.items = new Map();   // anomaly_id -> anomaly
    this.lastSeq = 0;
    this.count = 0;
    this.showAcknowledged = false;
    this.source = "";         // "" every anomaly, "flag" the count's, "dead_letter" refusals
    this.available = true;
    this.filling = null;
    this.storageKey = `votewire.acknowledged.${election}`;
    this.acknowledged = new Set(this._load());
  }

  _load() {
    try { return JSON.parse(localStorage.getItem(this.storageKey) || "[]"); } catch { return []; }
  }

  _save() {
    try {
      localStorage.setItem(this.storageKey, JSON.stringify([...this.acknowledged].slice(-5000)));
    } catch { /* private mode: acknowledgements last for this page only */ }
  }

  // The live handler of anomalies:E: a snapshot window, one anomaly, or null (nothing yet).
  onView(view) {
    if (!view) { this.items.clear(); this.lastSeq = 0; this.count = 0; this.onChange(); return; }
    if (Array.isArray(view.anomalies)) {
      this.items.clear();
      for (const a of view.anomalies) this._add(a);
      this.count = view.count || 0;
      this.lastSeq = this.count;
      const oldest = Math.min(...view.anomalies.map((a) => a.seq));
      if (view.anomalies.length && oldest > 1) this._older(oldest);
    } else {
      const gap = this.lastSeq && view.seq > this.lastSeq + 1 ? this.lastSeq : null;
      this._add(view);
      this.count = Math.max(this.count, view.seq);
      if (gap !== null) this._fill(gap);
      else this.lastSeq = Math.max(this.lastSeq, view.seq);
    }
    this.onChange();
  }

  refused() {
    this.available = false;
    this.onChange();
  }

  _add(a) {
    if (!a || !a.anomaly_id) return;
    this.items.set(a.anomaly_id, a);
    if (this.items.size > KEPT) {
      const oldest = [...this.items.values()].sort((x, y) => x.seq - y.seq)[0];
      this.items.delete(oldest.anomaly_id);
    }
  }

  async _older(before) {
    let cursor = `?before=${before}&limit=500`;
    try {
      while (cursor && this.items.size < KEPT) {
        const page = await this.fetchJson(`/v1/elections/${this.election}/anomalies${cursor}`);
        for (const a of page.anomalies) if (this.items.size < KEPT) this.items.set(a.anomaly_id, a);
        cursor = page.next;
      }
    } catch (err) { console.warn("anomalies: could not read older ones", err); }
    this.onChange();
  }

  async _fill(after) {
    if (this.filling) return;
    this.filling = (async () => {
      let cursor = `?after=${after}&limit=500`;
      try {
        while (cursor) {
          const page = await this.fetchJson(`/v1/elections/${this.election}/anomalies${cursor}`);
          for (const a of page.anomalies) this._add(a);
          this.count = Math.max(this.count, page.count);
          cursor = page.next;
        }
      } catch (err) { console.warn("anomalies: could not fill a gap", err); }
      this.lastSeq = Math.max(this.lastSeq, ...[...this.items.values()].map((a) => a.seq));
      this.filling = null;
      this.onChange();
    })();
  }

  acknowledge(id) {
    if (this.acknowledged.has(id)) this.acknowledged.delete(id);
    else this.acknowledged.add(id);
    this._save();
    this.onChange();
  }

  open() {
    return [...this.items.values()].filter((a) => !this.acknowledged.has(a.anomaly_id)).length;
  }

  // Whether the feed holds more anomalies than the page keeps (KEPT): `open()` then
  // counts the newest only, and the badge says so ("1,000+").
  truncated() {
    return this.count > this.items.size;
  }

  render(target) {
    const card = target.closest("section");
    card.hidden = !this.available;
    if (!this.available) return;
    const rows = [...this.items.values()].sort((x, y) => y.seq - x.seq)
      .filter((a) => this.showAcknowledged || !this.acknowledged.has(a.anomaly_id))
      .filter((a) => !this.source || a.source === this.source);
    const kinds = [["", "all kinds"], ["flag", "flags of the count"], ["dead_letter", "refused reports"]];
    const pick = h("select", { "aria-label": "kind of anomaly", "data-testid": "anomaly-source",
                               onchange: (event) => { this.source = event.target.value; this.onChange(); } },
      kinds.map(([value, text]) => h("option", { value, selected: value === this.source, text })));
    const toggle = h("label", { class: "small muted" },
      h("input", { type: "checkbox", checked: this.showAcknowledged, "data-testid": "show-acknowledged",
                   onchange: (event) => { this.showAcknowledged = event.target.checked; this.onChange(); } }),
      " show acknowledged");
    const summary = h("p", { class: "small muted anomaly-summary" },
      `${n(this.open())}${this.truncated() ? "+" : ""} open · ${n(this.count)} in all`, " ", pick, " ", toggle);
    if (!rows.length) {
      target.replaceChildren(summary, h("p", { class: "muted", text: this.count ? "Nothing open." : "No anomalies yet." }));
      return;
    }
    const list = h("ol", { class: "anomaly-list" }, rows.slice(0, SHOWN).map((a) => this._row(a)));
    const more = rows.length > SHOWN
      ? h("p", { class: "small muted", text: `Showing the newest ${SHOWN}; acknowledge to see older ones.` }) : null;
    target.replaceChildren(summary, list, ...(more ? [more] : []));
  }

  _row(a) {
    const done = this.acknowledged.has(a.anomaly_id);
    const where = [a.race_name || a.race_id, a.precinct_name || a.precinct_id].filter(Boolean).join(" · ");
    const place = a.precinct_id && a.precinct_name ? ` (${a.precinct_id})` : "";
    return h("li", { class: `anomaly ${a.source}${done ? " done" : ""}`, "data-anomaly": a.anomaly_id,
                     "data-code": a.code },
      h("div", { class: "anomaly-head" },
        h("span", { class: `anomaly-code ${a.source}`, text: label(a) }),
        h("time", { class: "muted small", datetime: a.at || "", title: a.noticed_at ? `noticed ${when(a.noticed_at)}` : "",
                    text: when(a.at) })),
      h("p", { class: "anomaly-message", text: a.message || "" }),
      h("p", { class: "small anomaly-meta" },
        h("span", { text: where ? `${where}${place}` : "whole election" }),
        a.mark ? h("span", { class: "muted", text: ` · mark ${a.mark}` }) : null,
        h("span", { class: "muted", text: a.sender ? ` · sent by ${a.sender}` : " · sender not recorded" }),
        a.report_id ? h("span", { class: "muted", text: ` · ${a.report_id}` }) : null),
      h("div", { class: "anomaly-actions" },
        a.race_id && a.region_id ? h("button", { type: "button", class: "link", "data-action": "open",
          onclick: () => this.onOpenRace(a.region_id, a.race_id), text: "Open race" }) : null,
        h("button", { type: "button", class: "link", "data-action": "acknowledge",
          onclick: () => this.acknowledge(a.anomaly_id), text: done ? "Reopen" : "Acknowledge" })));
  }
}
