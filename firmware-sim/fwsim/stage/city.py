"""A synthetic city to work on: districts, streets, grids, grid officers, enterprises and confined spaces.

Reproducible from a seed, with the skew a real city has: grids of uneven size, many micro and small enterprises
and few large ones, industries weighted like an industrial city, risk (supervision frequency) leaning on industry
and hazardous chemicals, and confined spaces concentrated in the industries that have them (sewage, food,
brewing, chemicals). Names and addresses are Chinese from our own word lists (no Faker dependency); every
unified social credit code is valid (both check characters). Used by the benchmark (``scripts/bench grid``),
the demo and tests. Rows are plain tuples so a loader can ``executemany`` them.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import Connection, MetaData, insert, text

from cloud.registry.uscc import make_uscc
from cloud.schedule.plan import Frequency

# (name, GB/T 2260-like division code); our own city, not a real map.
DISTRICT_NAMES = ("东湖区", "西岭区", "南港区", "北塘区", "中山区", "新城区", "龙泉区", "临江区", "滨海区", "青石区")
STREET_WORDS = ("和平", "建设", "人民", "解放", "东风", "红星", "新华", "长兴", "金桥", "永安", "文昌", "兴业",
                "园岭", "桂花", "梅林", "松岗", "石岩", "凤凰", "龙华", "坪山", "宝安", "福田", "沙井", "观澜")
ROAD_WORDS = ("工业", "科技", "创业", "振兴", "发展", "环城", "滨江", "迎宾", "富民", "育才", "光明", "友谊",
              "青年", "朝阳", "湖滨", "翠竹", "荔枝", "银河", "宏达", "安居")
ROAD_KINDS = ("路", "大道", "街", "北路", "南路", "东路", "西路", "一路", "二路")
PARKS = ("工业园", "科技园", "产业园", "工业区", "创意园")
NAME_CORES = ("鑫达", "华盛", "永泰", "恒通", "宏远", "金辉", "瑞丰", "德利", "嘉盛", "隆昌", "新亚", "大成",
              "联创", "博远", "众诚", "佳美", "盛源", "海天", "信义", "广和", "天成", "旭日", "中科", "百川",
              "汇丰", "长城", "华兴", "富康", "益民", "祥瑞", "顺发", "振华", "精工", "明德", "同创", "凯旋")
SUFFIXES = ("有限公司", "有限公司", "有限公司", "有限责任公司", "股份有限公司", "厂", "商行")
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程苏魏吕丁"
GIVEN = "伟芳娜秀英敏静丽强磊军洋勇艳杰娟涛明超秀兰霞平刚桂英华建国志红玉兰小红海燕文斌俊峰"

# (industry, name word, weight, base risk 0..1, share of enterprises with confined spaces relative weight)
INDUSTRIES: tuple[tuple[str, str, float, float, float], ...] = (
    ("C33 金属制品业", "五金制品", 14, 0.35, 0.3),
    ("C39 计算机、通信和其他电子设备制造业", "电子科技", 12, 0.25, 0.2),
    ("C38 电气机械和器材制造业", "电器", 8, 0.25, 0.2),
    ("C29 橡胶和塑料制品业", "塑胶制品", 8, 0.35, 0.3),
    ("C26 化学原料和化学制品制造业", "化工", 4, 0.8, 3.0),
    ("C13 农副食品加工业", "食品", 4, 0.45, 2.5),
    ("C14 食品制造业", "酱菜食品", 2, 0.5, 4.0),
    ("C15 酒、饮料和精制茶制造业", "酿酒", 1.5, 0.5, 4.0),
    ("C22 造纸和纸制品业", "纸业", 2, 0.5, 2.0),
    ("C17 纺织业", "纺织", 4, 0.3, 0.6),
    ("C21 家具制造业", "家具", 3, 0.35, 0.2),
    ("C34 通用设备制造业", "机械设备", 6, 0.3, 0.3),
    ("D46 水的生产和供应业", "水务", 0.6, 0.7, 8.0),
    ("N77 生态保护和环境治理业", "环保科技", 0.8, 0.6, 8.0),
    ("F51 批发业", "贸易", 16, 0.1, 0.05),
    ("F52 零售业", "百货", 10, 0.1, 0.02),
    ("H62 餐饮业", "餐饮管理", 5, 0.2, 0.3),
)
SCALES = (("micro", 58), ("small", 30), ("medium", 10), ("large", 2))
SCALE_RISK = {"micro": 0.0, "small": 0.05, "medium": 0.15, "large": 0.25}
SPACE_TYPES = ("污水井", "化粪池", "储罐", "发酵池", "腌制池", "地下室", "管道", "筒仓", "沉淀池", "窨井")
PROCESSES = ("电镀", "喷涂", "酸洗", "焊接")


@dataclass(frozen=True, slots=True)
class CitySize:
    districts: int
    streets: int
    grids: int
    officers: int
    enterprises: int
    space_enterprises: int
    spaces: int


CITY = CitySize(districts=10, streets=74, grids=890, officers=2000, enterprises=123_000, space_enterprises=1875,
                spaces=12_000)
DISTRICT = CitySize(districts=1, streets=8, grids=36, officers=84, enterprises=5000, space_enterprises=76,
                    spaces=490)


@dataclass(slots=True)
class City:
    """Rows ready to insert, ids from 1; the column order is each tuple field list below."""

    districts: list[tuple[int, str, str]] = field(default_factory=list)  # id, code, name
    streets: list[tuple[int, str, str, int]] = field(default_factory=list)  # id, code, name, district_id
    grids: list[tuple[int, str, str, int, int]] = field(default_factory=list)  # id, code, name, district, street
    officers: list[tuple[int, str, str, int]] = field(default_factory=list)  # id, username, name, grid_id
    # id, uscc, name, industry, address, district_id, street_id, grid_id, scale, hazardous_chemicals, processes
    enterprises: list[tuple[int, str, str, str, str, int, int, int, str, bool, list[str]]] = field(
        default_factory=list)
    frequencies: dict[int, Frequency] = field(default_factory=dict)  # enterprise id → supervision frequency
    # id, enterprise_id, code, name, space_type, location
    spaces: list[tuple[int, int, str, str, str, str]] = field(default_factory=list)

    def enterprise_rows(self, now: datetime) -> list[dict[str, object]]:
        """The enterprises as ``enterprises``-table rows (for an ORM-free bulk insert)."""
        keys = ("id", "uscc", "name", "industry", "address", "district_id", "street_id", "grid_id", "scale",
                "hazardous_chemicals", "dangerous_processes")
        return [dict(zip(keys, e, strict=True)) | {"created_at": now, "updated_at": now} for e in self.enterprises]


def _split(rng: random.Random, total: int, parts: int, sigma: float) -> list[int]:
    """``total`` split into ``parts`` positive, log-normally skewed counts that sum exactly to ``total``."""
    weights = [rng.lognormvariate(0, sigma) for _ in range(parts)]
    scale = (total - parts) / sum(weights)
    counts = [1 + int(w * scale) for w in weights]
    for i in rng.sample(range(parts), total - sum(counts)):  # hand out the rounding remainder
        counts[i] += 1
    return counts


def _frequency(rng: random.Random, risk: float) -> Frequency:
    r = rng.random() * (0.4 + risk)
    if r > 1.05:
        return Frequency.MONTHLY
    if r > 0.85:
        return Frequency.QUARTERLY
    if r > 0.6:
        return Frequency.HALF_YEARLY
    if r > 0.35:
        return Frequency.YEARLY
    return Frequency.GENERAL


def generate(size: CitySize = CITY, *, seed: int = 1) -> City:
    """The city of ``size``, the same for the same seed."""
    rng = random.Random(seed)
    city = City()
    street_of_district = _split(rng, size.streets, size.districts, 0.3)
    grids_of_street = _split(rng, size.grids, size.streets, 0.4)
    street_id = 0
    for d in range(size.districts):
        did = d + 1
        name = DISTRICT_NAMES[d % len(DISTRICT_NAMES)] + ("" if d < len(DISTRICT_NAMES) else str(d))
        city.districts.append((did, f"4403{did:02d}", name))
        for _ in range(street_of_district[d]):
            street_id += 1
            sname = STREET_WORDS[(street_id - 1) % len(STREET_WORDS)] + "街道"
            if street_id > len(STREET_WORDS):
                sname = f"{STREET_WORDS[(street_id - 1) % len(STREET_WORDS)]}{street_id // len(STREET_WORDS)}街道"
            city.streets.append((street_id, f"4403{did:02d}{street_id:03d}", sname, did))
    grid_id = 0
    for sid, _code, sname, did in city.streets:
        for k in range(grids_of_street[sid - 1]):
            grid_id += 1
            city.grids.append((grid_id, f"G{grid_id:05d}", f"{sname[:-2]}第{k + 1}网格", did, sid))
    # 2 officers per grid, the remaining ones a third officer in the largest-looking grids (random here)
    officer_grids = [g[0] for g in city.grids] * 2
    officer_grids += rng.sample([g[0] for g in city.grids], max(0, size.officers - len(officer_grids)))
    for i, gid in enumerate(sorted(officer_grids[: size.officers]), start=1):
        name = rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))
        city.officers.append((i, f"officer{i:05d}", name, gid))
    per_grid = _split(rng, size.enterprises, size.grids, 0.45)
    industry_weights = [w for _, _, w, _, _ in INDUSTRIES]
    org_bodies = rng.sample(range(10**7, 10**8), size.enterprises)  # unique organisation codes
    names_seen: set[str] = set()
    eid = 0
    for gid, _, _, did, sid in city.grids:
        district_name = city.districts[did - 1][2]
        street_name = city.streets[sid - 1][2]
        division = city.districts[did - 1][1]
        for _ in range(per_grid[gid - 1]):
            eid += 1
            industry, word, _, risk, _ = rng.choices(INDUSTRIES, industry_weights)[0]
            scale = rng.choices([s for s, _ in SCALES], [w for _, w in SCALES])[0]
            core = rng.choice(NAME_CORES) + rng.choice(NAME_CORES)[rng.randrange(2)]
            name = f"{rng.choice(('', district_name[:2], '深', '鹏'))}{core}{word}{rng.choice(SUFFIXES)}"
            if name in names_seen:  # distinct firms rarely share a full name; a branch suffix tells them apart
                name = name + f"第{eid % 97 + 1}分厂" if name.endswith("厂") else name[:-2] + f"{eid}号分公司"
            names_seen.add(name)
            road = rng.choice(ROAD_WORDS) + rng.choice(ROAD_KINDS)
            address = f"{district_name}{street_name}{road}{rng.randint(1, 899)}号"
            if rng.random() < 0.45:
                address += f"{rng.choice(ROAD_WORDS)}{rng.choice(PARKS)}{rng.randint(1, 30)}栋{rng.randint(1, 6)}01"
            chemicals = rng.random() < risk * 0.3
            processes = [p for p in PROCESSES if rng.random() < risk * 0.08]
            uscc = make_uscc("9", "1", division, str(org_bodies[eid - 1]))
            city.enterprises.append((eid, uscc, name, industry, address, did, sid, gid, scale, chemicals, processes))
            city.frequencies[eid] = _frequency(rng, risk + SCALE_RISK[scale] + (0.2 if chemicals else 0.0))
    _spaces(rng, city, size)
    return city


def _spaces(rng: random.Random, city: City, size: CitySize) -> None:
    space_weight = {ind: sw for ind, _, _, _, sw in INDUSTRIES}
    weights = [space_weight[e[3]] for e in city.enterprises]
    chosen: set[int] = set()
    while len(chosen) < min(size.space_enterprises, len(city.enterprises)):
        chosen.update(e[0] for e in rng.choices(city.enterprises, weights, k=size.space_enterprises - len(chosen)))
    holders = sorted(chosen)
    counts = _split(rng, max(size.spaces, len(holders)), len(holders), 0.8)
    sid = 0
    for enterprise_id, n in zip(holders, counts, strict=True):
        for k in range(n):
            sid += 1
            kind = rng.choice(SPACE_TYPES)
            city.spaces.append((sid, enterprise_id, f"YX-{k + 1:03d}", f"{k + 1}号{kind}", kind,
                                f"厂区{rng.choice('东南西北')}侧"))


# Officers are users who cannot log in until someone sets a password ("!" is no argon2 hash: verify says no);
# a generated city carries no default password.
NO_PASSWORD = "!"


def table_rows(city: City, now: datetime) -> list[tuple[str, list[dict[str, object]]]]:
    """The city as (table, rows) in insertion order, shaped like the migrated schema."""
    stamp = {"created_at": now, "updated_at": now}
    return [
        ("districts", [{"id": i, "code": c, "name": n} for i, c, n in city.districts]),
        ("streets", [{"id": i, "code": c, "name": n, "district_id": d} for i, c, n, d in city.streets]),
        ("grids", [{"id": i, "code": c, "name": n, "district_id": d, "street_id": s}
                   for i, c, n, d, s in city.grids]),
        ("enterprises", city.enterprise_rows(now)),
        ("users", [{"id": i, "username": u, "display_name": n, "password_hash": NO_PASSWORD, "role": "grid_officer",
                    "scope_kind": "grid", "grid_id": g, "district_id": None, "street_id": None,
                    "enterprise_id": None, "active": True} | stamp for i, u, n, g in city.officers]),
        ("confined_spaces", [
            {"id": i, "enterprise_id": e, "code": c, "name": n, "space_type": t, "location": loc, "hazards": [],
             "padlock_ids": [], "detector_ids": [], "gas_profile": "generic-4gas", "siren_id": None,
             "isolation_points": [], "rescue_equipment": [], "emergency_contacts": [], "rescue_notes": ""} | stamp
            for i, e, c, n, t, loc in city.spaces]),
    ]


def load(connection: Connection, city: City, *, now: datetime, metadata: MetaData) -> int:
    """Insert the city into an EMPTY migrated database (one executemany per table); returns the rows written.

    Ids are the generator's; on PostgreSQL the id sequences are moved past them so later inserts do not collide.
    """
    total = 0
    for name, rows in table_rows(city, now):
        if rows:
            connection.execute(insert(metadata.tables[name]), rows)
            total += len(rows)
            if connection.dialect.name == "postgresql":
                connection.execute(text(f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), {len(rows)})"))
    return total
