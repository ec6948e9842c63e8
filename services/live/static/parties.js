// Party names and colours, from the national view's `parties` registry
// (services/core/parties.py): every `party` in a view is a party_id of it.
// The registry gives every party a colour (its own or a stable fallback), so
// no two parties share one while the palette lasts. Until the summary has
// arrived, or for an id it does not list, a party shows its id in grey.

const UNKNOWN = "#9aa3ad";
const COLOR = /^#[0-9a-fA-F]{6}$/;

export class Parties {
  constructor() { this.byId = new Map(); }

  update(summary) {
    const next = new Map();
    for (const p of summary?.parties || []) {
      next.set(p.party_id, {
        id: p.party_id, name: p.name || p.party_id, short: p.short_name || p.name || p.party_id,
        color: COLOR.test(p.color || "") ? p.color : UNKNOWN,
      });
    }
    this.byId = next;
  }

  get(id) {
    return this.byId.get(id) || { id, name: id, short: id, color: UNKNOWN };
  }
}

// What a share is of, in words: "ballots cast" or "valid votes" (see docs/contract.md).
export function baseWords(base) {
  return base === "valid" ? "valid votes" : "ballots cast";
}
