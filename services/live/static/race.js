// The races of a region (from its race-list pages races:E:G:P) and one race in full
// (race:E:R).
//
// Shares beside a candidate are those of the view, on the base it states
// (`share_base`); in a majority race that is its `majority_base`, so a share
// above 50 % there is a majority and never stands beside "Runoff".

import { bar, h, n, partyLabel, pct } from "./dom.js";
import { baseWords } from "./parties.js";

const STATUS = { not_reporting: "not reporting", counting: "counting", complete: "complete" };

export function renderRaceList(target, lines, selectedRace, onPick) {
  if (!lines.length) {
    target.replaceChildren(h("p", { class: "muted", text: "No races listed for this region yet." }));
    return;
  }
  const items = lines.map((line) =>
    h("li", {},
      h("button", {
        type: "button",
        class: line.race_id === selectedRace ? "race-pick selected" : "race-pick",
        "data-race": line.race_id,
        onclick: () => onPick(line.race_id),
      },
      h("span", { class: "race-name" }, line.name,
        line.call && line.call !== "retracted"
          ? h("span", { class: "call-mark", title: "called by the desk", text: "called" }) : null),
      h("span", { class: `status ${line.status}`, text: STATUS[line.status] || line.status }),
      h("span", { class: "muted", text: `${n(line.precincts_reporting)}/${n(line.precincts_total)}` }))));
  target.replaceChildren(h("ul", { class: "race-list" }, items));
}

function outcomeText(view) {
  const o = view.outcome;
  const name = (id) => view.candidates.find((c) => c.candidate_id === id)?.name || id;
  if (!o) return view.status === "complete" ? "Complete" : "Counting: no result yet";
  const names = (o.candidate_ids || []).map(name).join(", ");
  switch (o.type) {
    case "winner": return `Winner: ${names}`;
    case "runoff": return `Runoff: ${names}`;
    case "tie": return `Tie${o.place ? ` for place ${o.place}` : ""}: ${names}`;
    case "repeat_election": return `Repeat election (${o.reason === "against_all" ? "against all won" : "no majority"})`;
    default: return o.type;
  }
}

function basisText(view) {
  const of = `Shares of ${baseWords(view.share_base)}`;
  if (view.winner_rule !== "majority") return `${of}.`;
  return `${of}: a winner needs more than half of ${baseWords(view.majority_base || view.share_base)}, else a runoff.`;
}

const CALLS = { winner: "Winner", runoff: "Runoff", too_close: "Too close to call", retracted: "Call retracted" };

function callLine(view) {
  const call = view.call;
  if (!call) return null;
  const name = (id) => view.candidates.find((c) => c.candidate_id === id)?.name || id;
  const names = call.candidate_ids.map(name).join(", ");
  const at = new Date(call.called_at);
  const stamp = Number.isNaN(at.getTime()) ? call.called_at : at.toLocaleTimeString(undefined, { hour12: false });
  const wrong = call.disagrees === true;  // the core's rule (race_call.disagrees)
  return h("p", { class: `call ${call.type}${wrong ? " disagrees" : ""}`, "data-testid": "race-call",
                  "data-call": call.type },
    h("span", { class: "call-badge", text: "Desk call" }),
    ` ${CALLS[call.type] || call.type}${names ? `: ${names}` : ""}`,
    h("span", { class: "muted small", text: ` · ${call.called_by}, ${stamp}` }),
    call.note ? h("span", { class: "muted small", text: ` · ${call.note}` }) : null,
    wrong ? h("strong", { class: "small", text: " · differs from the count" }) : null);
}

// `units` (units.js) draws a race spanning regions by region and district.
export function renderRace(target, view, parties, units) {
  if (!view) {
    target.replaceChildren(h("p", { class: "muted", text: "Pick a race to see its candidates." }));
    return;
  }
  const winners = new Set(view.outcome?.type === "winner" ? view.outcome.candidate_ids : []);
  const rows = view.candidates.map((c) => {
    const party = parties.get(c.party);
    return h("div", { class: winners.has(c.candidate_id) ? "cand winner" : "cand", "data-candidate": c.candidate_id },
      h("div", { class: "cand-head" },
        h("span", { class: "cand-name", text: c.name }),
        partyLabel(party, "cand-party muted"),
        h("span", { class: "num", text: `${n(c.votes)} · ${pct(c.pct)}` })),
      bar(c.pct, "", party.color));
  });
  const extra = [];
  if (view.against_all) {
    extra.push(h("div", { class: "cand against" },
      h("div", { class: "cand-head" },
        h("span", { class: "cand-name", text: "Against all" }),
        h("span", { class: "num", text: `${n(view.against_all.votes)} · ${pct(view.against_all.pct)}` })),
      bar(view.against_all.pct, "against")));
  }
  extra.push(h("div", { class: "cand invalid" },
    h("div", { class: "cand-head" },
      h("span", { class: "cand-name", text: "Invalid ballots" }),
      h("span", { class: "num", text: `${n(view.invalid.votes)} · ${pct(view.invalid.pct)}` })),
    bar(view.invalid.pct, "invalid")));
  const unitsBox = h("div", { class: "race-units", "data-testid": "race-units", hidden: true });
  target.replaceChildren(...[  // replaceChildren writes a null as the text "null"
    h("h3", { text: view.name }),
    h("p", { class: "race-meta" },
      h("span", { class: `status ${view.status}`, text: STATUS[view.status] || view.status }),
      ` ${n(view.precincts_reporting)} of ${n(view.precincts_total)} precincts · turnout ${pct(view.turnout_pct)}`),
    h("p", { class: "outcome", "data-testid": "race-outcome", text: outcomeText(view) }),
    h("p", { class: "muted small", "data-testid": "race-basis", text: basisText(view) }),
    callLine(view),
    h("div", { class: "cands" }, rows, extra),
    unitsBox].filter(Boolean));
  units.render(unitsBox, view, parties);
}
