// A race spanning regions, by reporting unit: which unit views to follow, and how.
//
// Regions: the race's region units are listed by REST (`/races/R/units?level=region`,
// only units with a result have a view) and each is followed on its own channel
// `unit:E:R:region.G` (a national race has about 20). A region that starts
// reporting later has no channel we follow yet: every precinct is in exactly one
// region, so while the race view counts more precincts reporting than the
// followed regions add up to, the list is fetched again (after a short pause, so a
// unit update already on its way can land first; backing off while nothing new
// turns up).
// Districts (about 200 in a national race) are loaded on demand: opening a
// region fetches `?level=district` once, keeps those whose `region_id` is the
// region, and follows their channels, one region open at a time. When they do not
// fit in the connection's channel budget (VOTEWIRE_LIVE_MAX_CHANNELS, 64 by
// default, shared with the rest of the page) or the server refuses one
// (`too_many_channels`), the open region's districts are polled over REST every
// POLL_MS instead. A district that starts reporting later is found the same way
// as a region (the region's count against the districts'; precincts with no
// district keep that gap open, so the backoff caps the refetches).
// Ordering: a REST body only fills units not heard of yet; a channel's updates,
// in seq order (live.js), always win. Changing race drops every unit channel.

import { renderUnitTable } from "./unit_table.js";

const CHANNEL_BUDGET = 64;  // the server's default VOTEWIRE_LIVE_MAX_CHANNELS
const HEADROOM = 4;         // left for the page's other channels (a race picked next)
const POLL_MS = 10000;
const FIRST_RETRY_MS = 1500;
const MAX_RETRY_MS = 30000;

function reporting(views) {
  let sum = 0;
  for (const v of views.values()) sum += v.precincts_reporting;
  return sum;
}

export class RaceUnits {
  constructor({ client, election, get, onChange }) {
    this.client = client;
    this.election = election;
    this.get = get;            // path -> fetch Response (the page adds its token)
    this.onChange = onChange;  // something to draw
    this.sortKey = "name";
    this._reset(null);
  }

  _reset(raceId) {
    for (const channel of this.channels?.keys() || []) this.client.unsubscribe(channel);
    for (const level of ["region", "district"]) {
      clearTimeout(this.retry?.[level]?.timer);
      clearInterval(this.poll?.[level]);
    }
    this.gen = (this.gen || 0) + 1;  // async answers for an older race are dropped
    this.raceId = raceId;
    this.raceView = null;
    this.started = false;
    this.channels = new Map();       // channel -> level
    this.regions = new Map();        // unit_id -> region unit view
    this.districts = new Map();      // unit_id -> district view, of the open region
    this.open = null;                // the region whose districts are shown
    this.loading = { region: false, district: false };
    this.failed = { region: false, district: false };
    this.mode = { region: "live", district: "live" };
    this.retry = { region: { timer: null, ms: FIRST_RETRY_MS }, district: { timer: null, ms: FIRST_RETRY_MS } };
    this.poll = { region: null, district: null };
  }

  /** The race on display changed (null: none): forget every unit of the previous one. */
  follow(raceId) {
    if (raceId !== this.raceId) this._reset(raceId);
  }

  /** Draws the race's units into `target` (hidden for a race within one region). */
  render(target, view, parties) {
    this.follow(view.race_id);
    this.raceView = view;
    if (view.region_id !== null) { target.hidden = true; return; }
    if (!this.started) { this.started = true; this._load("region"); }
    this._check("region");
    this._check("district");
    target.hidden = false;
    renderUnitTable(target, this, parties);
  }

  /** The live client's error frames: true when it handled one (a unit channel refused
   * for the connection's channel limit: that level is polled instead). */
  onError(frame) {
    const level = this.channels.get(frame.channel);
    if (!level || frame.code !== "too_many_channels") return false;
    this.client.unsubscribe(frame.channel);
    this.channels.delete(frame.channel);
    this._startPolling(level);
    return true;
  }

  sortBy(key) {
    this.sortKey = key;
    this.onChange();
  }

  /** Opens `regionId`'s districts (closing any other), or closes them. */
  toggle(regionId) {
    for (const [channel, level] of [...this.channels]) {
      if (level !== "district") continue;
      this.client.unsubscribe(channel);
      this.channels.delete(channel);
    }
    clearInterval(this.poll.district);
    clearTimeout(this.retry.district.timer);
    this.poll.district = null;
    this.retry.district = { timer: null, ms: FIRST_RETRY_MS };
    this.mode.district = "live";
    this.districts = new Map();
    this.failed.district = false;
    this.loading.district = false;
    this.open = this.open === regionId ? null : regionId;
    if (this.open) this._load("district");
    this.onChange();
  }

  _channel(level, unitId) {
    return `unit:${this.election}:${this.raceId}:${level}.${unitId}`;
  }

  _held(level) {
    return level === "region" ? this.regions : this.districts;
  }

  // Precincts the held units of `level` do not account for yet (0: none missing).
  _gap(level) {
    const whole = level === "region" ? this.raceView : this.regions.get(this.open);
    if (!whole || (level === "district" && !this.open)) return 0;
    return Math.max(0, whole.precincts_reporting - reporting(this._held(level)));
  }

  _check(level) {
    const retry = this.retry[level];
    if (this.mode[level] === "poll" || this.loading[level]) return;
    if (!this._gap(level)) {
      clearTimeout(retry.timer);
      retry.timer = null;
      retry.ms = FIRST_RETRY_MS;
      return;
    }
    if (retry.timer) return;
    const gen = this.gen;
    retry.timer = setTimeout(async () => {
      retry.timer = null;
      if (gen !== this.gen || !this._gap(level)) return;
      const found = await this._load(level);
      if (gen !== this.gen) return;
      retry.ms = found ? FIRST_RETRY_MS : Math.min(MAX_RETRY_MS, retry.ms * 2);
      this._check(level);
    }, retry.ms);
  }

  // Fetches the units of `level` (of the open region, for districts); follows the new
  // ones. Answers how many it had not heard of.
  async _load(level) {
    const gen = this.gen;
    const region = this.open;
    this.loading[level] = true;
    let units = null;
    try {
      const response = await this.get(
        `/v1/elections/${this.election}/races/${this.raceId}/units?level=${level}`);
      if (response.ok) units = (await response.json()).units;
      else if (response.status === 404) units = [];  // no unit of that level has a result yet
    } catch (err) { /* unreachable: the retry or the next poll tries again */ }
    if (gen !== this.gen || (level === "district" && region !== this.open)) return 0;
    this.loading[level] = false;
    this.failed[level] = units === null;
    let fresh = 0;
    if (units) {
      const mine = level === "region" ? units : units.filter((u) => u.region_id === region);
      const held = this._held(level);
      const unknown = mine.filter((u) => !held.has(u.unit_id));
      if (level === "district" && this.mode.district === "live" && unknown.length > this._room()) {
        this._startPolling("district");
      }
      for (const unit of mine) {
        if (this.mode[level] === "poll" || !held.has(unit.unit_id)) held.set(unit.unit_id, unit);
      }
      if (this.mode[level] === "live") for (const unit of unknown) this._subscribe(level, unit.unit_id);
      fresh = unknown.length;
    }
    this.onChange();
    return fresh;
  }

  _room() {
    return CHANNEL_BUDGET - HEADROOM - this.client.channels.size;
  }

  _subscribe(level, unitId) {
    const channel = this._channel(level, unitId);
    const gen = this.gen;
    this.channels.set(channel, level);
    this.client.subscribe(channel, (view) => {
      if (gen !== this.gen || !this.channels.has(channel)) return;
      const held = this._held(level);
      if (view) held.set(unitId, view);
      else held.delete(unitId);  // the views were rebuilt without it: it may come back
      this._check(level);
      if (level === "region" && unitId === this.open) this._check("district");
      this.onChange();
    });
  }

  _startPolling(level) {
    if (this.mode[level] === "poll") return;
    this.mode[level] = "poll";
    for (const [channel, lv] of [...this.channels]) {
      if (lv !== level) continue;
      this.client.unsubscribe(channel);
      this.channels.delete(channel);
    }
    const gen = this.gen;
    this.poll[level] = setInterval(() => { if (gen === this.gen) this._load(level); }, POLL_MS);
    this.onChange();
  }
}
