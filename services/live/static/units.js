// The race page's results by reporting unit: its region table (leader in party
// colour, % reporting, turnout) and district drill-down (issue 15, item 1).
//
// The place is kept here: `renderRace` gives every race a hidden
// `.race-units` container and calls `renderUnits(target, view, parties)`.
// The unit views are not published yet (GET /v1/elections/{e}/races/{r}/units
// ?level=region|district and their channels are being built); until then
// the container stays hidden. When they exist, fill `target` and unhide it.

export function renderUnits(target, view, parties) {
  void view; void parties;
  target.hidden = true;
}
