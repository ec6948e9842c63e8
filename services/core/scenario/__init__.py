"""Reference scenarios: realistic election nights with published final figures.

Kazakhstan's first direct election of rural akims, 25 July 2021
(docs/scenario.md), and a national night of any size: one presidential
race over every precinct plus local races (`national`). Pure and deterministic: no I/O
beyond reading the packaged tables, no wall clock, randomness only from
`random.Random` seeded by the caller's seed.

- `kz2021_definition(seed, scale)` -> `ElectionDefinition`;
  `kz2021_scenario(seed, scale)` -> `Scenario` (definition + final protocols).
- `simulate_night(definition, seed=, faults=)` -> `list[Emitted]`: the night
  as a delivery timeline; `final_results(definition, seed=)` -> the clean
  result reports.
- `national_scenario(precincts, regions, seed)` -> `Scenario`;
  `night_of(scenario, faults=)`: the night of any scenario.
- `FaultRates` / `NO_FAULTS`: what the night's wire gets wrong.
- `load_reference()`: the published tables as typed records.
"""

from votewire.core.scenario.faults import NO_FAULTS, FaultRates
from votewire.core.scenario.kz2021 import Scenario, kz2021_definition, kz2021_scenario
from votewire.core.scenario.national import national_definition, national_scenario
from votewire.core.scenario.night import final_results, night_of, simulate_night
from votewire.core.scenario.reference import PARTY_NAMES, load_reference
from votewire.core.scenario.timeline import Emitted, night_epoch

__all__ = [
    "NO_FAULTS",
    "PARTY_NAMES",
    "Emitted",
    "FaultRates",
    "Scenario",
    "final_results",
    "kz2021_definition",
    "kz2021_scenario",
    "load_reference",
    "national_definition",
    "national_scenario",
    "night_epoch",
    "night_of",
    "simulate_night",
]
