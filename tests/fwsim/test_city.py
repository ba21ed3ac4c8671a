"""The synthetic city: sizes as asked, reproducible from its seed, valid USCCs, the skew a real city has."""

from __future__ import annotations

from collections import Counter

from cloud.registry.uscc import uscc_problem
from cloud.schedule.plan import Frequency
from fwsim.stage.city import DISTRICT, CitySize, generate

SMALL = CitySize(districts=2, streets=5, grids=20, officers=45, enterprises=3000, space_enterprises=50, spaces=320)


def test_sizes_are_as_asked_and_every_uscc_is_valid() -> None:
    city = generate(SMALL, seed=3)
    assert (len(city.districts), len(city.streets), len(city.grids)) == (2, 5, 20)
    assert len(city.officers) == 45 and len(city.enterprises) == 3000 and len(city.spaces) == 320
    assert len({s[1] for s in city.spaces}) == 50
    assert [uscc_problem(e[1]) for e in city.enterprises if uscc_problem(e[1])] == []
    assert len({e[1] for e in city.enterprises}) == 3000
    assert len({e[2] for e in city.enterprises}) == 3000  # names are distinct (matching needs that)
    per_grid = Counter(o[3] for o in city.officers)
    assert set(per_grid) == {g[0] for g in city.grids} and set(per_grid.values()) <= {2, 3}
    # an enterprise's district and street are its grid's
    grids = {g[0]: g for g in city.grids}
    assert all((grids[e[7]][3], grids[e[7]][4]) == (e[5], e[6]) for e in city.enterprises)


def test_the_same_seed_gives_the_same_city() -> None:
    assert generate(SMALL, seed=9) == generate(SMALL, seed=9)
    assert generate(SMALL, seed=9).enterprises != generate(SMALL, seed=10).enterprises


def test_the_city_is_skewed_like_a_real_one() -> None:
    city = generate(DISTRICT, seed=1)
    scales = Counter(e[8] for e in city.enterprises)
    assert scales["micro"] > scales["small"] > scales["medium"] > scales["large"] > 0
    sizes = sorted(Counter(e[7] for e in city.enterprises).values())
    assert sizes[-1] > 2 * sizes[len(sizes) // 2]  # some grids are much larger than the median
    freq = Counter(city.frequencies.values())
    assert freq[Frequency.GENERAL] > freq[Frequency.MONTHLY] > 0 and set(freq) == set(Frequency)
    industry_of = {e[0]: e[3] for e in city.enterprises}
    with_spaces = Counter(industry_of[s[1]] for s in city.spaces)
    # wholesale trade is the most common industry but holds few of the confined spaces
    assert Counter(industry_of.values()).most_common(1)[0][0] == "F51 批发业"
    assert with_spaces["F51 批发业"] < with_spaces["N77 生态保护和环境治理业"] + with_spaces["D46 水的生产和供应业"]
