// The public dashboard: one election, live over /v1/live.
//
// Channels: summary:E (national), races:E (the race list's index: which
// regions exist and how many pages of races each has), races:E:G:P for the
// pages of the group on display (the picked region's races, else the races
// spanning regions; never the whole election), region:E:G for each region,
// race:E:R for the race on display, anomalies:E for the anomalies panel (anomalies.js), and a
// spanning race's unit:E:R:region.G channels and one region's districts
// (units.js).
// The URL holds the state (?election=&region=&race=), so any view can be
// linked. Renders are coalesced to one per frame. Party names and colours
// come from the summary's `parties` registry (parties.js).
// status:pipeline says whether the numbers are current: while it is "stale"
// (the aggregate stopped, docs/operations.md) the pill reads "Stale, last
// update hh:mm:ss" instead of "Live".

import { AnomalyPanel } from "./anomalies.js";
import { drawTurnoutChart, markValues } from "./chart.js";
import { bar, h, n, partyLabel, pct, setText, time } from "./dom.js";
import { LiveClient } from "./live.js";
import { Parties, baseWords } from "./parties.js";
import { renderRace, renderRaceList } from "./race.js";
import { RaceUnits } from "./units.js";

const PARTY_ROWS = 10;  // parties listed by votes; the rest are summed as one line
const PAGES_SHOWN = 3;  // race-list pages followed at once (a wide region is paged: "next")

const params = new URLSearchParams(location.search);
const token = params.get("token");
const state = {
  election: null,
  summary: null,
  index: null,                  // races:E: the race list's groups and their page counts
  shown: null,                  // the pages subscribed: {group, pages, first, last}
  firstPage: 0,                 // the first page shown of the wanted group
  pages: new Map(),             // races:E:G:P -> page view, of the shown group
  regions: new Map(),           // region_id -> region view (null until heard)
  region: params.get("region"),
  race: params.get("race"),
  raceView: null,
  parties: new Parties(),
  anomalies: null,              // the AnomalyPanel
  units: null,                  // RaceUnits: the race on display by region and district
};
let client = null;
let renderQueued = false;
let connection = null;  // the client's latest status
let pipeline = null;    // the status:pipeline view, null until heard

function withToken(path) {
  return token ? `${path}${path.includes("?") ? "&" : "?"}token=${encodeURIComponent(token)}` : path;
}

async function pickElection() {
  if (params.get("election")) return params.get("election");
  for (;;) {
    try {
      const response = await fetch(withToken("/v1/elections"));
      if (response.ok) {
        const body = await response.json();
        if (body.default) return body.default;
      }
    } catch (err) { /* not reachable yet: try again below */ }
    setText("status-detail", "waiting for an election to be published");
    await new Promise((resolve) => setTimeout(resolve, 5000));
  }
}

function remember() {
  const url = new URL(location.href);
  url.searchParams.set("election", state.election);
  for (const key of ["region", "race"]) {
    if (state[key]) url.searchParams.set(key, state[key]);
    else url.searchParams.delete(key);
  }
  history.replaceState(null, "", url);
}

function scheduleRender() {
  if (renderQueued) return;
  renderQueued = true;
  requestAnimationFrame(() => { renderQueued = false; render(); });
}

function regionIds() {
  // The spanning group (region_id null) belongs to no region: it is listed as nationwide.
  return (state.index?.groups || []).filter((g) => g.region_id != null).map((g) => g.region_id);
}

function spanningGroup() {
  return (state.index?.groups || []).find((g) => g.region_id == null && g.races > 0) || null;
}

// The group whose races are listed: the picked region's, else the races spanning regions.
function wantedGroup() {
  const groups = state.index?.groups || [];
  return state.region ? groups.find((g) => g.region_id === state.region) || null : spanningGroup();
}

function pageChannel(group, page) {
  return `races:${state.election}:${group}:${page}`;
}

// Subscribe the shown pages of the wanted group (at most PAGES_SHOWN from firstPage),
// and drop those no longer shown.
function followPages() {
  const want = wantedGroup();
  const shown = state.shown;
  if (want && (!shown || shown.group !== want.group)) state.firstPage = 0;
  const first = want ? Math.max(0, Math.min(state.firstPage, want.pages - 1)) : 0;
  const last = want ? Math.min(want.pages, first + PAGES_SHOWN) : 0;
  if (shown && want && shown.group === want.group && shown.pages === want.pages &&
      shown.first === first && shown.last === last) return;
  if (!shown && !want) return;
  if (shown) for (let p = shown.first; p < shown.last; p++) client.unsubscribe(pageChannel(shown.group, p));
  state.pages.clear();
  state.shown = want ? { group: want.group, pages: want.pages, first, last } : null;
  if (!want) return;
  for (let p = first; p < last; p++) {
    const channel = pageChannel(want.group, p);
    client.subscribe(channel, (view) => {
      if (view) state.pages.set(channel, view); else state.pages.delete(channel);
      scheduleRender();
    });
  }
}

function shownLines() {
  const shown = state.shown;
  if (!shown) return [];
  const lines = [];
  for (let p = shown.first; p < shown.last; p++) lines.push(...(state.pages.get(pageChannel(shown.group, p))?.races || []));
  return lines;
}

function turnPages(by) {
  state.firstPage = Math.max(0, (state.shown?.first || 0) + by);
  followPages();
  scheduleRender();
}

// "Races 301-600 of 5,000 · previous · next" under a group of more pages than shown.
function pager() {
  const shown = state.shown;
  const size = state.index?.page_size || 100;
  const group = wantedGroup();
  if (!shown || !group || shown.pages <= PAGES_SHOWN) return null;
  const to = Math.min(group.races, shown.last * size);
  return h("p", { class: "pager muted small", "data-testid": "race-pager" },
    `Races ${n(shown.first * size + 1)}–${n(to)} of ${n(group.races)} `,
    h("button", { type: "button", disabled: shown.first === 0, onclick: () => turnPages(-PAGES_SHOWN), text: "‹ previous" }),
    " ",
    h("button", { type: "button", disabled: shown.last >= shown.pages, onclick: () => turnPages(PAGES_SHOWN), text: "next ›" }));
}

function onIndex(view) {
  state.index = view;
  followPages();
  for (const id of regionIds()) {
    if (state.regions.has(id)) continue;
    state.regions.set(id, null);
    client.subscribe(`region:${state.election}:${id}`, (regionView) => {
      state.regions.set(id, regionView);
      scheduleRender();
    });
  }
  scheduleRender();
}

const narrow = window.matchMedia("(max-width: 760px)");

function reveal(id) {
  // On a phone the panels stack: bring the one just filled into view.
  if (narrow.matches) document.getElementById(id).scrollIntoView({ behavior: "smooth", block: "start" });
}

function selectRegion(id) {
  state.region = state.region === id ? null : id;
  followPages();
  remember();
  scheduleRender();
  if (state.region) reveal("region-title");
}

function selectRace(id, { user = true } = {}) {
  if (state.race) client.unsubscribe(`race:${state.election}:${state.race}`);
  state.race = id;
  state.raceView = null;
  state.units.follow(id);
  remember();
  if (id) {
    client.subscribe(`race:${state.election}:${id}`, (view) => { state.raceView = view; scheduleRender(); });
    if (user) reveal("race");
  }
  scheduleRender();
}

// turnout_pct counts precincts with results only: before the first result it is no figure.
function resultsTurnout(view) {
  return view && view.registered_reporting > 0 ? pct(view.turnout_pct) : "—";
}

function latestMark(view) {
  const reported = (view?.turnout_by_mark || []).filter((m) => m.precincts_reported > 0);
  return reported.length ? reported[reported.length - 1] : null;
}

function renderNation() {
  const s = state.summary;
  if (!s) return;
  document.title = `${s.name} · votewire`;
  setText("election-name", s.name);
  document.getElementById("test-banner").hidden = !s.test;
  const mark = latestMark(s);
  setText("national-turnout", resultsTurnout(s));
  setText("national-ballots", s.registered_reporting > 0
    ? `${n(s.ballots_cast)} of ${n(s.registered_reporting)} registered` : "no results in yet");
  setText("national-mark", mark ? pct(mark.pct) : "—");
  setText("national-mark-label", mark ? `at ${mark.mark}, ${n(mark.precincts_reported)} precincts` : "no hourly figure yet");
  setText("national-precincts", `${n(s.precincts_reporting)} / ${n(s.precincts_total)}`);
  setText("national-precincts-pct", `${s.precincts_reporting_pct}% reporting`);
  setText("national-races", `${n(s.races_complete)} / ${n(s.races_total)}`);
  renderSeats(s);
  renderVotes(s);
}

function renderSeats(s) {
  const most = Math.max(1, ...s.seats_by_party.map((p) => p.seats));
  setText("seats-note", `seats won by each party's candidates; ${n(s.races_complete)} of ` +
    `${n(s.races_total)} races complete`);
  document.getElementById("seats").replaceChildren(
    ...(s.seats_by_party.length ? s.seats_by_party.map((p) => {
      const party = state.parties.get(p.party);
      return h("div", { class: "party", "data-party": p.party }, partyLabel(party),
        bar((100 * p.seats) / most, "", party.color), h("span", { class: "num", text: n(p.seats) }));
    }) : [h("p", { class: "muted", text: "No seat won yet." })]));
}

function line(label, share, role, attrs = {}) {
  return h("div", { class: "party", ...attrs }, label, bar(share.pct, role),
    h("span", { class: "num", text: pct(share.pct) }));
}

function renderVotes(s) {
  const races = s.races_total === 1 ? "the one race" : `all ${n(s.races_total)} races`;
  setText("votes-note", `Votes for the candidates of each party, summed over ${races}, ` +
    `as a share of ${baseWords(s.share_base)}. Invalid ballots: share of ballots cast.`);
  const shown = s.votes_by_party.slice(0, PARTY_ROWS).map((p) => {
    const party = state.parties.get(p.party);
    return h("div", { class: "party", "data-party": p.party }, partyLabel(party),
      bar(p.pct, "", party.color), h("span", { class: "num", text: pct(p.pct) }));
  });
  const rest = s.votes_by_party.slice(PARTY_ROWS);
  if (rest.length) {
    const votes = rest.reduce((sum, p) => sum + p.votes, 0);
    const note = `${rest.length} more parties, ${n(votes)} votes`;
    shown.push(h("div", { class: "party" }, h("span", { class: "party-name", text: "Other parties" }),
      h("span", { class: "muted small", text: note }), h("span", { class: "num", text: "" })));
  }
  const rows = [...shown];
  // Only where some race has the line: otherwise there is no such ballot to count.
  if (s.against_all_races > 0) {
    rows.push(line(h("span", { class: "party-name", text: "Against all" }), s.against_all, "against",
      { "data-testid": "votes-against-all" }));
  }
  rows.push(line(h("span", { class: "party-name", text: "Invalid ballots" }), s.invalid, "invalid"));
  document.getElementById("votes").replaceChildren(...rows);
}

function renderChart() {
  const marks = (state.summary?.turnout_by_mark || []).map((m) => m.mark);
  const series = [];
  for (const [id, view] of state.regions) {
    if (!view) continue;
    series.push({ id: `region:${id}`, label: view.name, values: markValues(view, marks),
                  role: id === state.region ? "selected" : "other" });
  }
  series.push({ id: "national", label: "National", values: markValues(state.summary, marks), role: "national" });
  drawTurnoutChart(document.getElementById("turnout-chart"), marks, series);
  const picked = state.regions.get(state.region);
  setText("chart-legend-region", picked ? picked.name : "pick a region in the table");
}

function renderRegions() {
  const rows = regionIds().map((id) => {
    const v = state.regions.get(id);
    const mark = latestMark(v);
    const lead = v?.votes_by_party?.[0];
    const leadParty = lead && lead.votes > 0 ? state.parties.get(lead.party) : null;
    return h("tr", { class: id === state.region ? "selected" : "", "data-region": id },
      h("th", { scope: "row" }, h("button", { type: "button", onclick: () => selectRegion(id), text: v?.name || id })),
      h("td", { class: "num", text: mark ? `${pct(mark.pct)} (${mark.mark})` : "—" }),
      h("td", { class: "num", text: resultsTurnout(v) }),
      h("td", { class: "num" }, v ? `${n(v.precincts_reporting)} / ${n(v.precincts_total)}` : "—",
        v ? bar((100 * v.precincts_reporting) / Math.max(1, v.precincts_total)) : null),
      h("td", { class: "num", text: v ? `${n(v.races_complete)} / ${n(v.races_total)}` : "—" }),
      h("td", { class: "lead" }, leadParty
        ? [partyLabel(leadParty), h("span", { class: "num", text: ` ${pct(lead.pct)}` })] : "—"));
  });
  document.getElementById("region-rows").replaceChildren(...rows);
}

function renderRegionPanel() {
  const region = state.regions.get(state.region);
  const nationwide = spanningGroup() !== null;
  const title = region ? region.name : state.region ? state.region : nationwide ? "Nationwide races" : "Races";
  setText("region-title", title);
  const csv = document.getElementById("region-csv");
  csv.hidden = !state.region;
  if (state.region) csv.href = withToken(`/v1/elections/${state.election}/regions/${state.region}/results.csv`);
  // The shown group's pages: the region's races, else those spanning regions.
  const lines = shownLines();
  const target = document.getElementById("race-list");
  if (!state.region && !nationwide) target.replaceChildren(h("p", { class: "muted", text: "Pick a region in the table to list its races." }));
  else {
    renderRaceList(target, lines, state.race, selectRace);
    const more = pager();
    if (more) target.append(more);
  }
  renderRace(document.getElementById("race"), state.raceView, state.parties, state.units);
}

function openRace(regionId, raceId) {
  state.region = regionId;
  followPages();
  selectRace(raceId);
}

function renderAnomalies() {
  const panel = state.anomalies;
  if (!panel) return;
  panel.render(document.getElementById("anomaly-list"));
  const badge = document.getElementById("anomaly-count");
  const open = panel.open();
  badge.hidden = !panel.available || open === 0;
  const more = panel.truncated() ? "+" : "";
  setText("anomaly-count", `${n(open)}${more} ${open === 1 && !more ? "anomaly" : "anomalies"} open`);
}

async function fetchJson(path) {
  const response = await fetch(withToken(path));
  if (!response.ok) throw new Error(`${path}: ${response.status}`);
  return response.json();
}

function render() {
  renderNation();
  renderChart();
  renderRegions();
  renderRegionPanel();
  renderAnomalies();
}

const STALE_REASONS = {
  no_heartbeat: "results are not being updated",
  partitions_unowned: "some results are not being updated",
  aggregate_recovering: "the counting service is restarting",
  aggregate_starting: "the counting service is starting",
  aggregate_stalled: "the counting service is stuck",
  aggregate_redis_unreachable: "the counting service cannot publish",
};

function showStatus(status) {
  connection = status;
  paintStatus();
}

function showPipeline(view) {
  pipeline = view;
  paintStatus();
}

function paintStatus() {
  const status = connection;
  if (!status) return;
  const labels = { connecting: "Connecting", live: "Live", behind: "Behind", reconnecting: "Reconnecting",
                   offline: "Offline", refused: "Refused" };
  const connected = status.state === "live" || status.state === "behind";
  const stale = connected && pipeline !== null && pipeline.state !== "live";
  const shown = stale ? "stale" : status.state;
  const pill = document.getElementById("status");
  pill.className = `pill ${shown}`;
  pill.dataset.state = shown;
  if (stale) {
    const at = pipeline.last_beat_at ? new Date(pipeline.last_beat_at) : status.lastUpdateAt;
    setText("status-label", `Stale, last update ${time(at)}`);
    setText("status-detail", STALE_REASONS[pipeline.reason] || "results may be behind");
  } else {
    setText("status-label", labels[status.state] || status.state);
    const retry = status.retryInS !== null ? ` · retrying in ${status.retryInS}s` : "";
    const rtt = status.rttMs !== null && status.state === "live" ? ` · ${status.rttMs} ms` : "";
    setText("status-detail", `${status.detail}${retry}${rtt}`);
  }
  setText("last-update", time(status.lastUpdateAt));
}

async function main() {
  state.election = await pickElection();
  remember();
  const scheme = location.protocol === "https:" ? "wss" : "ws";
  client = new LiveClient(withToken(`${scheme}://${location.host}/v1/live`), {
    onStatus: showStatus,
    onError: (frame) => {
      if (state.units.onError(frame)) return;
      if (frame.channel === `anomalies:${state.election}` && frame.code === "forbidden") state.anomalies.refused();
      console.warn("live error", frame);
    },
  });
  state.units = new RaceUnits({ client, election: state.election, get: (path) => fetch(withToken(path)),
                                onChange: scheduleRender });
  state.anomalies = new AnomalyPanel({ election: state.election, fetchJson, onOpenRace: openRace,
                                       onChange: scheduleRender });
  window.votewire = { client, state };  // for the curious, and for the browser test
  client.subscribe("status:pipeline", showPipeline);
  client.subscribe(`summary:${state.election}`, (view) => {
    state.summary = view;
    state.parties.update(view);
    scheduleRender();
  });
  client.subscribe(`races:${state.election}`, (view) => { if (view) onIndex(view); });
  client.subscribe(`anomalies:${state.election}`, (view) => state.anomalies.onView(view));
  if (state.race) selectRace(state.race, { user: false });
  client.start();
  render();
}

main();
