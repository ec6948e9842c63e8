"""Deterministic, human-readable names: villages, rural districts, candidates.

Kazakh village names are built from common toponym parts (Ақ + жар =
Ақжар); the northern and eastern regions, where many villages kept Russian
names, also draw from a list of those. Candidates are "Surname Given name" as
on Kazakh ballots, with Russian names in the same regions. Names are
plausible, not real people or places by intent. Everything is drawn from the
`random.Random` passed in, so a seed gives the same names every time.
"""

from __future__ import annotations

import random

__all__ = ["NameBook"]

_PREFIXES = (
    "Ақ", "Қара", "Сары", "Көк", "Жаңа", "Ескі", "Үлкен", "Кіші", "Қызыл", "Талды",
    "Бес", "Ұзын", "Алтын", "Шұбар", "Жалпақ", "Күміс", "Саз", "Тұз", "Бай", "Ор",
    "Қоңыр", "Ащы", "Тұщы", "Қос", "Жел",
)  # fmt: skip
_ROOTS = (
    "жар", "су", "бұлақ", "тал", "көл", "тоғай", "қайың", "терек", "арал", "дала",
    "өзек", "сай", "тау", "тас", "құдық", "қоныс", "төбе", "шоқы", "арық", "қамыс",
    "ағаш", "адыр", "бел", "қақ",
)  # fmt: skip
_WHOLE = (
    "Жаңатұрмыс", "Еңбек", "Бірлік", "Достық", "Ынтымақ", "Береке", "Шапағат",
    "Амангелді", "Абай", "Жамбыл", "Көктем", "Жұлдыз", "Бостандық", "Тың", "Егінді",
)  # fmt: skip
_RUSSIAN_VILLAGES = (
    "Новопокровка", "Михайловка", "Ивановка", "Алексеевка", "Степное", "Заречное",
    "Берёзовка", "Каменка", "Садовое", "Луговое", "Приречное", "Октябрьское",
    "Новоишимка", "Васильевка", "Петровка", "Андреевка", "Красный Яр", "Зелёный Гай",
    "Подгорное", "Светлое", "Знаменка", "Николаевка", "Полтавка", "Урожайное",
)  # fmt: skip
_KAZAKH_SURNAMES = (
    "Ахметов", "Сейітов", "Жұмабаев", "Омаров", "Төлегенов", "Әбдірахманов", "Нұрғалиев",
    "Қасымов", "Есімов", "Бекмұхамбетов", "Серікбаев", "Мұқанов", "Ибраев", "Жақыпов",
    "Оспанов", "Байжанов", "Сыздықов", "Тұрсынов", "Қалиев", "Әмірев", "Сәрсенбаев",
    "Құдайбергенов", "Бейсенов", "Ысқақов", "Мамытов", "Шәріпов", "Досмағамбетов",
)  # fmt: skip
_KAZAKH_MEN = (
    "Ерлан", "Серік", "Бауыржан", "Нұрлан", "Асқар", "Дәурен", "Қайрат", "Ержан",
    "Марат", "Ғалым", "Талғат", "Бақытжан", "Жандос", "Арман", "Мұрат", "Әділ",
    "Болат", "Дархан", "Самат", "Ербол",
)  # fmt: skip
_KAZAKH_WOMEN = (
    "Айгүл", "Гүлнар", "Жанар", "Әсел", "Динара", "Сәуле", "Ләззат", "Мәдина", "Айжан",
    "Гүлмира",
)  # fmt: skip
_RUSSIAN_SURNAMES = (
    "Иванов", "Петров", "Кузнецов", "Смирнов", "Попов", "Волков", "Ткаченко", "Шевченко",
    "Бондаренко", "Морозов", "Лебедев", "Козлов", "Новиков", "Соколов", "Фролов", "Гусев",
)  # fmt: skip
_RUSSIAN_MEN = (
    "Сергей", "Александр", "Виктор", "Николай", "Андрей", "Владимир", "Олег", "Юрий",
)  # fmt: skip
_RUSSIAN_WOMEN = ("Наталья", "Ольга", "Елена", "Татьяна", "Светлана")

_RUSSIAN_SHARE = {
    "north_kazakhstan": 0.45,
    "kostanay": 0.4,
    "akmola": 0.35,
    "pavlodar": 0.35,
    "karaganda": 0.3,
    "east_kazakhstan": 0.3,
}
_SETTLEMENT = (("ауылдық округі", 0.7), ("ауылы", 0.25), ("кенті", 0.05))
"""Race name suffixes: rural district, village, town of district significance."""


def _feminine(surname: str) -> str:
    return surname + "а" if surname.endswith(("ов", "ев", "ин")) else surname


class NameBook:
    """Names for one region, unique where they must be (see each method)."""

    def __init__(self, region_id: str, rng: random.Random) -> None:
        self._rng = rng
        self._russian = _RUSSIAN_SHARE.get(region_id, 0.05)
        self._villages: set[str] = set()

    def village(self) -> str:
        """A village name not yet handed out by this book (falls back to numbered ones)."""
        for _ in range(200):
            name = self._draw_village()
            if name not in self._villages:
                self._villages.add(name)
                return name
        name = f"{self._draw_village()} {len(self._villages) + 1}"
        self._villages.add(name)
        return name

    def place(self) -> str:
        """A village name, perhaps one handed out before: many polling stations share
        a village, and a national scenario needs more of them than there are names."""
        return self._draw_village()

    def race_name(self, village: str) -> str:
        """The name of the race for the akim seated in `village`, e.g. "Ақжар ауылдық округі"."""
        suffixes = [s for s, _ in _SETTLEMENT]
        suffix = self._rng.choices(suffixes, weights=[w for _, w in _SETTLEMENT])[0]
        return f"{village} {suffix}"

    def people(self, count: int) -> list[str]:
        """`count` distinct candidate names, "Surname Given name"."""
        names: list[str] = []
        while len(names) < count:
            name = self._person()
            if name not in names:
                names.append(name)
        return names

    def _draw_village(self) -> str:
        rng = self._rng
        if rng.random() < self._russian:
            return rng.choice(_RUSSIAN_VILLAGES)
        if rng.random() < 0.12:
            return rng.choice(_WHOLE)
        return rng.choice(_PREFIXES) + rng.choice(_ROOTS)

    def _person(self) -> str:
        rng = self._rng
        russian = rng.random() < self._russian
        woman = rng.random() < 0.2
        surnames = _RUSSIAN_SURNAMES if russian else _KAZAKH_SURNAMES
        given: tuple[str, ...]
        if russian:
            given = _RUSSIAN_WOMEN if woman else _RUSSIAN_MEN
        else:
            given = _KAZAKH_WOMEN if woman else _KAZAKH_MEN
        surname = rng.choice(surnames)
        return f"{_feminine(surname) if woman else surname} {rng.choice(given)}"
