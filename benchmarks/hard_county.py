"""A hard, labelled identity-resolution set: one synthetic county (夏津县) and hotline-style leads about people.

Written independently of the matcher (from the data contract only), so the set is not shaped by it.

What it writes into DIR:

- the registry in the formats of docs/data-contract.md: `regions.csv` (山东省 > 德州市 > 夏津县 > ~N/2000
  villages in 3-22 townships, including urban 社区 in 城关镇), `households.csv`, `persons.csv` (N persons in
  households of 1-6 built as lineages: elders, married sons in their own households or living with them,
  daughters-in-law, grandchildren) and `standards.csv`;
- `leads.csv` (`safetynet link` IN format), L rows: ~80 % about registered persons, ~20 % about people who
  are not in the registry but live in the same villages with the same surnames and cohort names (a third of
  them carry the exact name of a registered neighbour);
- `leads_truth.csv`: record_id, true_id_number (empty when not registered), kind, underspecified, how;
- `village_aliases.csv`: alias, region_code for the informal village names used in leads.

Why it is hard. Names collide the way they do in a north-China county: clan villages (a third to half of a
village shares one surname, and clan men share a generation character), a national surname distribution with a
long rare tail, cohort given names by birth decade (淑珍 玉兰 建国 / 建军 丽娟 / 浩 婷婷 / 梓涵 子轩), single-character names
for the young, siblings sharing a character, twins (same birth date, names one character apart) and two men of
one clan generation in one village with the same name. At N=1,000,000 most people have a namesake in the
county and many have one in their own village (the measured shares are printed). ID numbers of people born
before 1994 carry 德州地区's old code 372423 (371427 only exists from 1994, and the import checks the code against
the birth year); married-in wives may carry a neighbouring county's code. Elderly people often have no phone
of their own and are registered with a son's number, and leads give a son's, a daughter's or the caller's
number. The leads are what a hotline operator hears: homophone typos of given names and villages (玉兰→玉蓝,
大柳树村→大柳数村), confusable surnames (刘/柳, 徐/许; a rare 禚 typed as 卓), ID numbers mostly missing or masked,
fragmentary or mistyped, phones in many formats, 虚岁 or rounded ages instead of birth dates, day/month swapped,
places as a township only, an alias (张家庄 for 张庄村), a landmark (石桥村卫生室后面), and villages whose names repeat in
two townships. Each registered-person lead still holds enough for a careful human (name + village + age, name
+ phone, name + ID fragment ...), except ~10 % deliberately underspecified ones (name + township only),
flagged in the truth file. Ages count to 2026-12-01, so link with `--as-of 2026-12-01`.

    .venv/bin/python benchmarks/hard_county.py --persons 1000000 --leads 20000 --out /tmp/hard1m [--seed S]

Python standard library only; deterministic for a seed; streams rows, ~1-2 minutes at N=1,000,000.
"""

from __future__ import annotations

import argparse
import bisect
import csv
import datetime as dt
import heapq
import itertools
import random
import sys
import time
from collections import Counter
from pathlib import Path

AS_OF = dt.date(2026, 12, 1)
MAX_BIRTH = dt.date(2026, 11, 30)
PROVINCE = ("370000000000", "山东省")
CITY = ("371400000000", "德州市")
COUNTY = ("371427000000", "夏津县")
COUNTY6 = "371427"

# ---------------------------------------------------------------------------------------------------------
# ID numbers (GB 11643-1999)

ID_WEIGHTS = (7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2)
ID_CHECK = "10X98765432"

# 6-digit birthplace codes in force by birth year (python-stdnum's division table): 夏津县 was 372423 under
# 德州地区 until 1994 and 371427 under 德州市 from 1994. Neighbours for married-in wives.
HOME_CODES = ((1994, "372423", "371427"),)
NEIGHBOUR_CODES = (
    (1994, "372422", "371426"),  # 平原县
    (1994, "372424", "371428"),  # 武城县
    (1994, "372428", "371424"),  # 临邑县
    (1997, "372527", "371526"),  # 高唐县 (聊城)
)


def id_check_char(first17: str) -> str:
    return ID_CHECK[sum(int(c) * w for c, w in zip(first17, ID_WEIGHTS, strict=True)) % 11]


def birthplace(codes: tuple[int, str, str], year: int) -> str:
    switch, old, new = codes
    return new if year >= switch else old


# ---------------------------------------------------------------------------------------------------------
# Names

SURNAMES = (  # weight per mille, tuned to Shandong / north China; long rare tail at the end
    "王90 李85 张85 刘65 陈35 杨35 赵30 孙30 徐20 马20 高20 郭18 于18 吴15 朱15 周15 宋15 胡12 董12 韩12 "
    "田12 黄10 梁10 孟10 崔10 曹10 许10 杜10 魏9 任8 吕8 姜8 郑8 程7 侯7 丁7 贾7 石7 冯7 闫6 袁6 范6 "
    "林6 何6 房5 邢5 谢5 罗5 薛5 苏5 付5 葛4 秦4 白4 尹4 牛4 唐4 彭4 蒋3 沈3 庞3 岳3 耿3 邵3 宁3 "
    "常3 武3 商2 路2 靳2 聂2 毕2 纪2 单2 卢2 贺2 段2 郝2 邱2 夏2 顾2 汪1 柳1.5 章1 余1 俞0.5 黎0.5 "
    "伍0.5 邹1 季1 封0.5 阳0.3 凌0.3 苑1 隋0.5 鞠0.5 臧0.5 栾0.5 牟0.5 展0.5 庄1 满0.4 蔺0.3 褚0.3 "
    "司0.3 相0.3 冀0.5 鹿0.3 亓0.3 禚0.1 逄0.2 仉0.1 郇0.2 邴0.2 綦0.2 欧阳0.1 司马0.05 诸葛0.05 东方0.03"
)


def _weighted(spec: str) -> tuple[list[str], list[float]]:
    names, cum, total = [], [], 0.0
    for item in spec.split():
        i = next(k for k, c in enumerate(item) if c.isdigit())
        names.append(item[:i])
        total += float(item[i:])
        cum.append(total)
    return names, cum


SURNAME_LIST, SURNAME_CUM = _weighted(SURNAMES)

# Cohorts by birth year: 0 = up to 1962, 1 = 1963-1984, 2 = 1985-2007, 3 = 2008 on.
COHORT_BOUNDS = (1962, 1984, 2007)
# fmt: off
WHOLE = {  # popular whole given names, most popular first (Zipf weights)
    ("M", 0): "建国 建华 国庆 德胜 振华 建民 国华 国强 德明 德华 德福 福生 长春 永福 玉山 宝山 金山 树林 春生 解放 "
    "跃进 援朝 保国 卫国 爱国 庆祥 广才 士杰 洪亮 文明 学礼 长江 永祥 玉林 书明 清河 德山 国栋 福贵 玉海",
    ("F", 0): "淑珍 玉兰 秀英 桂英 凤英 秀兰 桂兰 玉珍 淑英 凤兰 玉芝 秀珍 桂芝 淑兰 秀云 玉梅 素珍 翠兰 金花 "
    "桂花 兰英 秀荣 凤芝 玉英 淑芳 秀芳 桂荣 凤琴 玉霞 秀梅 玉莲 淑华 桂珍 春兰 月英 美英",
    ("M", 1): "建军 志强 卫东 红军 向东 立新 建新 海涛 海军 永强 志刚 志勇 志军 国平 建平 建伟 春雷 东升 宏伟 "
    "新华 学军 明辉 建设 卫国 海滨 庆华 文涛 晓东 立军 振国 洪涛 俊峰 玉军 长青 建波 国栋",
    ("F", 1): "丽娟 红梅 海燕 丽华 秀梅 红霞 艳红 春燕 丽萍 桂霞 晓红 卫红 玉红 美玲 雪梅 凤霞 秀丽 丽丽 "
    "红艳 艳玲 春梅 金凤 丽红 秀云 玉霞 晓燕 海霞 爱华 红英 素云",
    ("M", 2): "浩然 俊杰 晓东 文博 家豪 志伟 鹏飞 明杰 晨阳 宇航 天宇 子豪 振宇 鑫磊 浩楠 传奇 旭东 海洋 文杰 "
    "建伟 明辉 俊豪 凯旋 新宇 嘉诚 晓龙 伟伟 亮亮 鹏鹏",
    ("F", 2): "婷婷 丹丹 晶晶 晓丽 雅琪 欣然 梦瑶 佳怡 思雨 雨欣 晓雪 文静 慧敏 梦洁 玉洁 丽君 晓燕 琳琳 "
    "园园 欢欢 倩倩 莹莹 璐璐 晓静 佳佳 蕾蕾 雪莹 梦雪",
    ("M", 3): "子轩 浩宇 宇轩 梓豪 浩然 一诺 皓轩 俊熙 子墨 梓睿 宇泽 沐阳 奕辰 铭泽 浩轩 博文 瑞泽 天佑 "
    "梓轩 子豪 锦程 睿泽 宇航 承泽 家乐",
    ("F", 3): "欣怡 梓涵 一诺 雨桐 子涵 梓萱 诗涵 可馨 若汐 语桐 佳琪 思涵 梦琪 紫涵 依诺 雨涵 心怡 芷若 "
    "梓晴 欣妍 梓琪 雨萱 可欣 诗琪 一涵",
}
FIRST = {  # first characters of composed two-character names
    ("M", 0): "建国德振永玉宝金树长福庆广士洪文明书学清",
    ("F", 0): "淑玉秀桂凤素翠金兰春荣美月",
    ("M", 1): "建志卫红向立海永国春东宏新学明晓俊军文洪",
    ("F", 1): "丽红海艳春晓美雪凤秀玉桂金爱",
    ("M", 2): "浩俊晓文家志建鹏明晨宇天子振鑫传旭海新嘉",
    ("F", 2): "晓雅欣梦佳思雨文慧玉丽琳园欢婷静雪",
    ("M", 3): "子浩宇梓一皓俊沐奕铭博瑞锦睿天泽",
    ("F", 3): "欣梓一雨子诗可若语佳思梦紫依心芷",
}
SECOND = {
    ("M", 0): "国华民强胜林山海生贵祥田才杰亮明春成忠义礼信和平",
    ("F", 0): "珍兰英芝云梅芳荣琴霞花香华娥莲",
    ("M", 1): "军强东新涛刚勇平伟雷升华辉波峰林锋明杰",
    ("F", 1): "娟梅燕华霞红萍玲丽芳英荣云琴",
    ("M", 2): "然杰东博豪伟飞阳航宇磊楠奇洋超龙凯鹏帅",
    ("F", 2): "丽琪然瑶怡雨欣雪静敏洁君燕琳园欢婷莹",
    ("M", 3): "轩宇豪然诺熙墨睿泽阳辰文涵航铭",
    ("F", 3): "怡涵诺桐萱馨汐琪晴妍然彤",
}
SINGLE = {
    ("M", 0): "忠义福贵山林",
    ("F", 0): "英兰珍芝",
    ("M", 1): "军勇刚强斌亮伟涛峰磊",
    ("F", 1): "芳霞燕红娟艳丽静萍敏",
    ("M", 2): "浩磊伟杰鹏超帅强鑫阳凯宇飞龙博",
    ("F", 2): "静倩雪敏娜莹璐佳蕾丹晶婷",
    ("M", 3): "轩浩宇睿泽辰",
    ("F", 3): "涵萱诺彤妍悦",
}
# fmt: on


SINGLE_SHARE = {"M": (0.06, 0.22, 0.45, 0.2), "F": (0.05, 0.2, 0.35, 0.15)}
WHOLE_SHARE, COMPOSED_SHARE = 0.3, 0.4  # the rest of the two-character names: any two name characters
BROAD = {  # name characters of every cohort and some more, for the long tail
    g: "".join(sorted(set("".join(FIRST[(g, c)] + SECOND[(g, c)] for c in range(4)) + extra)))
    for g, extra in (
        ("M", "汉卿彦昊晟煜旺顺兵彬毅诚恒恩宪殿兆延昌茂盛"),
        ("F", "娥凤菊香兰梅芬珊璐瑾媛姗薇萌颖倩露"),
    )
}
GENERATION_CHARS = "德振广庆宪殿玉士洪传继绍培立明兆延昌茂盛文学长书恩怀守善"


def _zipf(items: list[str], s: float = 1.0) -> tuple[list[str], list[float]]:
    cum, total = [], 0.0
    for r in range(len(items)):
        total += 1.0 / (r + 4) ** s
        cum.append(total)
    return items, cum


WHOLE_W = {k: _zipf(v.split()) for k, v in WHOLE.items()}

# Heard-alike characters (homophones or near-homophones) for typos in given names and places.
# fmt: off
HOMOPHONES = {
    "兰": "蓝岚", "英": "莹瑛", "珍": "贞真", "芝": "枝之", "梅": "玫美", "芳": "方", "华": "化桦", "国": "果",
    "民": "敏明", "军": "君均俊", "东": "冬", "红": "宏洪", "宏": "红洪", "洪": "红宏", "霞": "侠", "燕": "艳雁",
    "艳": "燕彦", "娟": "涓鹃", "丽": "莉力", "萍": "平苹", "玲": "龄铃", "静": "晶婧", "婷": "亭", "伟": "卫玮",
    "卫": "伟", "杰": "洁捷", "磊": "蕾雷", "浩": "豪皓", "涛": "滔韬", "刚": "钢", "勇": "永", "峰": "锋丰",
    "锋": "峰", "平": "萍", "林": "琳霖", "琳": "林玲", "建": "剑健", "志": "智治", "明": "鸣铭", "德": "得",
    "福": "富付", "贵": "桂", "桂": "贵", "秀": "修绣", "玉": "钰育", "凤": "风", "淑": "书舒", "春": "纯",
    "生": "升", "胜": "生盛", "山": "珊", "云": "芸", "荣": "蓉容", "琴": "芹勤", "新": "欣鑫", "欣": "新馨",
    "鑫": "新欣", "怡": "仪宜", "涵": "寒晗", "轩": "萱宣", "萱": "轩宣", "宇": "雨羽", "雨": "宇语",
    "梓": "子紫", "子": "梓紫", "博": "波柏", "超": "潮", "鹏": "朋", "飞": "菲", "辉": "慧晖", "慧": "惠",
    "敏": "民", "雪": "学", "晶": "静菁", "倩": "茜", "佳": "嘉家", "家": "佳嘉", "亮": "良", "丹": "单",
    "莹": "英盈", "振": "震镇", "庆": "青", "文": "雯", "学": "雪", "诺": "娜", "桐": "彤", "彤": "桐",
    "妍": "颜", "琪": "琦淇", "然": "燃", "阳": "洋扬", "洋": "阳", "龙": "隆", "楠": "男", "晨": "辰",
    "辰": "晨", "航": "杭", "泽": "择", "睿": "瑞", "瑞": "睿", "铭": "明", "熙": "希", "墨": "默",
    "强": "墙", "波": "博", "雷": "磊", "立": "力丽", "海": "凯", "永": "勇", "长": "常", "宝": "保",
    "金": "锦", "清": "青庆", "俊": "峻骏", "晓": "小", "美": "梅", "翠": "萃", "素": "肃", "花": "华",
    "香": "湘", "娥": "蛾", "莲": "连", "月": "越",
    # places
    "柳": "刘", "树": "数术", "桥": "乔侨", "集": "级吉", "庄": "装桩", "寨": "砦", "屯": "囤", "楼": "娄",
    "店": "电殿", "营": "赢", "堂": "唐塘", "官": "关观", "河": "和", "湖": "胡", "洼": "哇", "庙": "妙苗",
    "园": "元圆", "台": "太抬", "铺": "堡浦", "里": "李理", "前": "钱", "后": "侯厚", "西": "希",
    "南": "楠", "大": "达", "小": "晓", "辛": "新", "石": "十", "沙": "砂", "马": "玛", "关": "官观",
    "城": "成", "乡": "香", "刘": "柳", "张": "章", "王": "汪", "李": "黎", "陈": "程", "杨": "阳",
    "赵": "照", "徐": "许", "郭": "国", "朱": "珠", "于": "余", "周": "州", "宋": "送", "韩": "寒",
    "田": "甜", "孟": "梦", "杜": "渡", "魏": "卫", "侯": "候", "姜": "江", "郑": "正", "冯": "封",
    "黄": "皇", "梁": "良", "袁": "元", "邢": "刑", "房": "方", "高": "郜", "孙": "荪", "枣": "早",
    "槐": "怀", "榆": "于", "杏": "兴", "梨": "黎", "桃": "陶", "苇": "伟", "古": "谷", "牛": "扭",
    "双": "霜", "三": "山", "五": "午", "七": "期", "八": "巴", "十": "石", "白": "百", "孤": "姑",
    "堆": "对", "土": "吐",
}
SURNAME_CONFUSIONS = {
    "刘": "柳", "柳": "刘", "徐": "许", "许": "徐", "于": "余俞", "余": "于", "俞": "于", "张": "章", "章": "张",
    "陈": "程", "程": "陈", "王": "汪", "汪": "王", "杨": "阳", "李": "黎", "吴": "伍", "邹": "周", "林": "凌",
    "邢": "刑", "冯": "封", "纪": "季", "季": "纪", "蒋": "姜", "姜": "蒋", "侯": "候", "鞠": "菊", "苑": "袁",
    "袁": "苑",
    # rare surnames an operator does not know how to type: the common character that sounds the same
    "禚": "卓", "逄": "庞", "亓": "齐祁", "仉": "掌张", "郇": "荀环", "邴": "丙", "綦": "齐", "隋": "随", "臧": "藏",
    "栾": "峦", "牟": "穆木", "相": "向", "冀": "季", "褚": "楚", "鹿": "路", "展": "占", "蔺": "林", "单": "山",
}
# fmt: on
RARE_SURNAMES = frozenset("禚逄亓仉郇邴綦")


# ---------------------------------------------------------------------------------------------------------
# Places

# fmt: off
TOWNSHIPS = (
    "城关镇", "马集镇", "东李乡", "雷集镇", "宋楼镇", "双庙镇", "田庄乡", "渡口驿镇", "香赵庄镇", "郑保屯镇", "白马湖镇", "苏留庄镇", "新盛店镇", "南城镇",
    "北城街道", "刘王庄乡", "杨集乡", "孙庄镇", "前屯乡", "高庄镇", "王营镇", "李官屯镇", "赵堤口镇", "柳林镇", "黄庄乡",
)
CLAN_PATTERNS = (  # (pattern, weight, alias pattern or "")
    ("{s}庄", 20, "{s}家庄"), ("{s}家庄", 10, "{s}庄"), ("{s}家寨", 6, "{s}寨"), ("{s}集", 6, ""),
    ("{s}楼", 5, "{s}家楼"), ("{s}官屯", 4, "{s}屯"), ("{s}屯", 5, "{s}家屯"), ("前{s}庄", 4, "前{s}家庄"),
    ("后{s}庄", 4, "后{s}家庄"), ("东{s}庄", 3, ""), ("西{s}庄", 3, ""), ("{s}辛庄", 3, "{s}新庄"),
    ("{s}家洼", 3, "{s}洼"), ("{s}营", 3, "{s}家营"), ("{s}店", 3, "{s}家店"), ("{s}庙", 2, "{s}家庙"),
    ("大{s}庄", 2, ""), ("小{s}庄", 2, ""), ("{s}堤口", 1, ""), ("{s}堂", 2, "{s}家堂"),
)
PLAIN_VILLAGES = (  # (name without 村, alias or "")
    ("大柳树", "柳树"), ("石桥", "石桥铺"), ("双庙", ""), ("三里庄", "三里"), ("八里屯", ""), ("十里铺", "十里堡"),
    ("五里铺", "五里堡"), ("新庄", ""), ("枣林", "枣树林"), ("槐树庄", "槐树"), ("榆林", ""), ("孤堆", ""),
    ("沙河", "沙河崖"), ("河北", ""), ("后店", ""), ("七里庄", ""), ("小屯", ""), ("大屯", ""), ("梨园", "梨树园"),
    ("杏园", ""), ("桃园", ""), ("高台", "高台子"), ("南洼", ""), ("北洼", ""), ("古城", "古城村"),
    ("三官庙", "三官"), ("娘娘庙", ""), ("白马湖", ""), ("牛王庙", ""), ("土楼", ""), ("柳林", ""),
    ("杨树林", ""), ("苇子园", ""), ("营子", ""), ("东街", ""), ("西街", ""), ("南街", ""), ("北街", ""),
)
COMMUNITIES = ("东关社区", "西关社区", "南关社区", "北关社区", "新华社区", "建设社区", "人民社区", "解放社区")
LANDMARKS = (
    "{v}西头", "{v}东头", "{v}南头", "{v}北头", "{v}卫生室后面", "{v}小学旁边", "{v}村委会对面", "{t}{v}三组",
    "{v}二组", "{t}{v}", "{v}{n}号", "住{v}", "{v}大街{n}号", "{v}代销点旁边", "{t}{v}一队",
)
# fmt: on


class Village:
    __slots__ = (
        "code",
        "name",
        "town",
        "town_name",
        "urban",
        "target",
        "clan",
        "clan_share",
        "second",
        "second_share",
        "poem",
        "alias",
        "reservoir",
        "seen",
        "population",
    )

    def __init__(
        self, code, name, town, town_name, urban, clan, clan_share, second, second_share, poem, alias
    ):
        self.code, self.name, self.town, self.town_name, self.urban = code, name, town, town_name, urban
        self.clan, self.clan_share, self.second, self.second_share = clan, clan_share, second, second_share
        self.poem, self.alias = poem, alias
        self.target = 0
        self.reservoir: list[tuple[str, str, int]] = []  # (name, gender, birth year) of registered persons
        self.seen = 0
        self.population = 0


class Person:
    __slots__ = (
        "surname",
        "given",
        "gender",
        "bdate",
        "idn",
        "relation",
        "phone",
        "kids",
        "parents",
        "spouse",
        "village",
        "hh",
        "placed",
        "married_in",
    )

    def __init__(self, surname, given, gender, bdate, village, married_in=False):
        self.surname, self.given, self.gender, self.bdate = surname, given, gender, bdate
        self.village, self.married_in = village, married_in
        self.idn = ""
        self.relation = ""
        self.phone = ""
        self.kids: list[Person] = []
        self.parents: list[Person] = []
        self.spouse: Person | None = None
        self.hh = ""
        self.placed = False

    @property
    def name(self) -> str:
        return self.surname + self.given


def age_on(bdate: dt.date, on: dt.date = AS_OF) -> int:
    return on.year - bdate.year - ((on.month, on.day) < (bdate.month, bdate.day))


def cohort(year: int) -> int:
    return bisect.bisect_left(COHORT_BOUNDS, year)


# ---------------------------------------------------------------------------------------------------------
# The generator


class County:
    def __init__(self, persons: int, leads: int, seed: int):
        self.n, self.l_total = persons, leads
        self.rng = random.Random(seed)
        self.used_ids: set[int] = set()
        self.used_phones: set[str] = set()
        self.names: Counter[str] = Counter()
        self.village_names: Counter[tuple[int, str]] = Counter()
        self.n_registered_leads = round(leads * 0.8)
        self.heap: list[tuple[float, int, Person]] = []
        self.counter = itertools.count()
        self.villages: list[Village] = []
        self.towns: list[tuple[str, str]] = []
        self.hh_count = 0
        self.stats: Counter[str] = Counter()

    # -- places ---------------------------------------------------------------------------------------
    def make_places(self) -> None:
        rng = self.rng
        n_vill = max(4, round(self.n / 1700))
        n_town = min(22, max(3, n_vill // 12))
        towns = [TOWNSHIPS[0], *rng.sample(TOWNSHIPS[1:], n_town - 1)]
        self.towns = [(f"{COUNTY6}{i + 1:03d}000", t) for i, t in enumerate(towns)]
        # villages per township: roughly even, 城关镇 also holds the urban communities
        per_town = [n_vill // n_town + (1 if i < n_vill % n_town else 0) for i in range(n_town)]
        n_comm = min(len(COMMUNITIES), max(1, n_vill // 60))
        per_town[0] = max(per_town[0] - n_comm // 2, 1)
        names_by_town: list[list[str]] = []
        all_specs: list[tuple[int, str, str, str, bool]] = []  # town index, name, clan surname, alias, urban
        plain_pool = list(PLAIN_VILLAGES)
        rng.shuffle(plain_pool)
        official: set[str] = set()
        for ti, count in enumerate(per_town):
            taken: list[str] = []
            if ti == 0:
                for c in COMMUNITIES[:n_comm]:
                    taken.append(c)
                    all_specs.append((ti, c, "", "", True))
            while len(taken) < count + (n_comm if ti == 0 else 0):
                if rng.random() < 0.72 or not plain_pool:
                    clan = rng.choices(SURNAME_LIST[:40], cum_weights=SURNAME_CUM[:40])[0]
                    pat, _, alias = rng.choices(CLAN_PATTERNS, weights=[p[1] for p in CLAN_PATTERNS])[0]
                    base, alias_name = pat.format(s=clan), alias.format(s=clan) if alias else ""
                else:
                    clan = ""
                    base, alias_name = plain_pool.pop()
                name = base + "村"
                if name in taken:
                    continue
                taken.append(name)
                all_specs.append((ti, name, clan, alias_name, False))
            names_by_town.append(taken)
        # a few villages take the name of a village in another township (same clan): names repeat
        n_pairs = max(2, n_vill // 40)
        rural = [i for i, s in enumerate(all_specs) if not s[4]]
        for _ in range(n_pairs * 4):
            if n_pairs == 0:
                break
            a, b = rng.sample(rural, 2)
            ta, tb = all_specs[a][0], all_specs[b][0]
            if ta == tb or all_specs[a][1] in names_by_town[tb]:
                continue
            names_by_town[tb][names_by_town[tb].index(all_specs[b][1])] = all_specs[a][1]
            all_specs[b] = (tb, *all_specs[a][1:])
            n_pairs -= 1
        for spec in all_specs:
            official.add(spec[1].removesuffix("村"))
        counters = [0] * n_town
        comm_counter = 0
        for ti, name, clan, alias, urban in all_specs:
            tcode, tname = self.towns[ti]
            if urban:
                comm_counter += 1
                code = f"{tcode[:9]}{comm_counter:03d}"
                share, second, second_share = rng.uniform(0.0, 0.08), "", 0.0
                clan = rng.choices(SURNAME_LIST[:10], cum_weights=SURNAME_CUM[:10])[0]
            else:
                counters[ti] += 1
                code = f"{tcode[:9]}{200 + counters[ti]:03d}"
                if clan:
                    share = rng.uniform(0.3, 0.5)
                else:
                    clan = rng.choices(SURNAME_LIST[:40], cum_weights=SURNAME_CUM[:40])[0]
                    share = rng.uniform(0.1, 0.3)
                second = rng.choices(SURNAME_LIST[:60], cum_weights=SURNAME_CUM[:60])[0]
                second_share = 0.0 if second == clan else rng.uniform(0.05, 0.15)
            if alias in official:  # an alias that is another village's official name would mislead
                alias = ""
            poem = "".join(rng.sample(GENERATION_CHARS, 6))
            self.villages.append(
                Village(code, name, tcode, tname, urban, clan, share, second, second_share, poem, alias)
            )
        weights = [rng.uniform(800, 2500) * (0.7 if v.urban else 1.0) for v in self.villages]
        total = sum(weights)
        targets = [int(self.n * w / total) for w in weights]
        for i in range(self.n - sum(targets)):
            targets[i % len(targets)] += 1
        for v, t in zip(self.villages, targets, strict=True):
            v.target = t

    # -- people ---------------------------------------------------------------------------------------
    def national_surname(self) -> str:
        return self.rng.choices(SURNAME_LIST, cum_weights=SURNAME_CUM)[0]

    def family_surname(self, v: Village) -> str:
        r = self.rng.random()
        if r < v.clan_share:
            return v.clan
        if r < v.clan_share + v.second_share:
            return v.second
        return self.national_surname()

    def birth_date(self, year: int) -> dt.date:
        rng = self.rng
        d = dt.date(year, 1, 1) + dt.timedelta(days=rng.randrange(366 if year % 4 == 0 else 365))
        return min(d, MAX_BIRTH - dt.timedelta(days=rng.randrange(30)))

    def given_name(self, gender: str, year: int, first: str = "") -> str:
        rng = self.rng
        c = cohort(year)
        if rng.random() < 0.15:
            c = min(3, max(0, c + rng.choice((-1, 1))))
        key = (gender, c)
        if first:
            return first + rng.choice(SECOND[key].replace(first, ""))
        if rng.random() < SINGLE_SHARE[gender][c]:
            return rng.choice(SINGLE[key])
        r = rng.random()
        if r < WHOLE_SHARE:
            items, cum = WHOLE_W[key]
            return rng.choices(items, cum_weights=cum)[0]
        if r < WHOLE_SHARE + COMPOSED_SHARE:
            return rng.choice(FIRST[key]) + rng.choice(SECOND[key])
        return rng.choice(FIRST[key]) + rng.choice(BROAD[gender])

    def new_id(self, bdate: dt.date, gender: str, codes: tuple[int, str, str]) -> str:
        rng = self.rng
        prefix = birthplace(codes, bdate.year) + bdate.strftime("%Y%m%d")
        base = int(prefix) * 1000
        while True:
            seq = rng.randrange(0, 500) * 2 + (1 if gender == "M" else 0)
            if base + seq not in self.used_ids:
                self.used_ids.add(base + seq)
                first17 = f"{prefix}{seq:03d}"
                return first17 + id_check_char(first17)

    def new_phone(self) -> str:
        rng = self.rng
        while True:
            p = f"1{rng.choice('3333555888789')}{rng.randrange(10**9):09d}"
            if p not in self.used_phones:
                self.used_phones.add(p)
                return p

    def person(
        self, surname: str, gender: str, year: int, v: Village, given: str = "", married_in=False, bdate=None
    ):
        bdate = bdate or self.birth_date(year)
        p = Person(surname, given or self.given_name(gender, bdate.year), gender, bdate, v, married_in)
        codes = HOME_CODES[0]
        if married_in and self.rng.random() < 0.25:
            codes = self.rng.choice(NEIGHBOUR_CODES)
        p.idn = self.new_id(bdate, gender, codes)
        return p

    def wife_for(self, husband: Person, v: Village) -> Person:
        year = max(1920, min(2004, husband.bdate.year + self.rng.choice((-2, -1, 0, 0, 1, 1, 2, 2, 3, 4, 5))))
        return self.person(self.national_surname(), "F", year, v, married_in=True)

    def children(self, father: Person, mother: Person | None, v: Village) -> list[Person]:
        rng = self.rng
        my = (mother or father).bdate.year
        era = cohort(my)
        counts = ((2, 3, 3, 4, 4, 5, 6), (1, 2, 2, 2, 3, 3), (0, 1, 1, 2, 2), (0, 1))[era]
        if v.urban:
            counts = (1, 1, 2) if era < 2 else (0, 1, 1)
        n = rng.choice(counts)
        years = sorted(my + rng.randint(20, 38) for _ in range(n))
        years = [y for y in years if y <= 2026]
        if not years:
            return []
        c0 = cohort(years[0])
        share_m = rng.random() < (0.75, 0.6, 0.35, 0.25)[c0]
        share_f = rng.random() < (0.5, 0.4, 0.25, 0.2)[c0]
        clan_male = father.surname == v.clan and not v.urban
        band = min(5, max(0, (years[0] - 1900) // 22))
        gen_m = v.poem[band] if clan_male and rng.random() < (0.6, 0.5, 0.3, 0.15)[c0] else ""
        if share_m and not gen_m:
            gen_m = rng.choice(FIRST[("M", c0)])
        gen_f = rng.choice(FIRST[("F", c0)]) if share_f else ""
        kids: list[Person] = []
        givens: set[str] = set()
        twin_of: Person | None = None
        i = 0
        while i < len(years):
            y = years[i]
            i += 1
            gender = "M" if rng.random() < 0.52 else "F"
            if twin_of is not None and rng.random() < 0.6:
                gender = twin_of.gender
            first = gen_m if gender == "M" else gen_f
            if twin_of is not None and twin_of.gender == gender and len(twin_of.given) == 2:
                first = twin_of.given[0]  # twins: 浩然 and 浩宇
            given = ""
            for _ in range(6):
                given = self.given_name(gender, y, first if first and rng.random() < 0.85 else "")
                if given not in givens:
                    break
            givens.add(given)
            kid = self.person(
                father.surname, gender, y, v, given=given, bdate=twin_of.bdate if twin_of else None
            )
            kids.append(kid)
            # about 1 birth in 80 is of twins: the next child shares the birth date
            twin_of = kid if twin_of is None and rng.random() < 0.0125 else None
            if twin_of is not None:
                self.stats["twin_pairs"] += 1
                years.insert(i, y)
        father.kids = kids
        parents = [father]
        if mother is not None:
            mother.kids = kids
            parents.append(mother)
        for kid in kids:
            kid.parents = parents
        return kids

    def married(self, p: Person) -> bool:
        a = age_on(p.bdate)
        if p.gender == "M":
            return a >= 22 and self.rng.random() < (0.5 if a < 27 else 0.8 if a < 32 else 0.9)
        return a >= 20 and self.rng.random() < (0.6 if a < 25 else 0.9 if a < 30 else 0.97)

    def alive(self, p: Person) -> bool:
        a = age_on(p.bdate)
        s = (
            1.0
            if a < 55
            else 0.95
            if a < 65
            else 0.85
            if a < 75
            else 0.6
            if a < 85
            else 0.3
            if a < 95
            else 0.05
        )
        if p.gender == "F":
            s = min(1.0, s * 1.15)
        return self.rng.random() < s

    def family(self, head: Person, v: Village, depth: int) -> list[list[tuple[Person, str]]]:
        """A married man's household: wife, unmarried children, perhaps a married son with his family."""
        rng = self.rng
        wife = self.wife_for(head, v)
        wife_present = rng.random() < 0.97 and self.alive(wife)
        hh: list[tuple[Person, str]] = [(head, "head")]
        if wife_present:
            hh.append((wife, "spouse"))
            head.spouse, wife.spouse = wife, head
        extra: list[list[tuple[Person, str]]] = []
        coresident_son = False
        for kid in self.children(head, wife, v):
            if kid.gender == "F":
                if self.married(kid):
                    continue  # married out of the village
                if len(hh) < 6:
                    hh.append((kid, "child"))
                continue
            if self.married(kid):
                if depth < 3 and not coresident_son and rng.random() < 0.35 and len(hh) <= 3:
                    dil = self.wife_for(kid, v)
                    kid.spouse, dil.spouse = dil, kid
                    hh.append((kid, "child"))
                    hh.append((dil, "other"))
                    for g in self.children(kid, dil, v):
                        if len(hh) < 6 and not (age_on(g.bdate) >= 20 and self.married(g)):
                            hh.append((g, "grandchild"))
                    coresident_son = True
                else:
                    extra.extend(self.family(kid, v, depth + 1))
            elif len(hh) < 6:
                hh.append((kid, "child"))
            elif age_on(kid.bdate) >= 18:
                extra.append([(kid, "head")])
        return [hh, *extra]

    def cluster(self, v: Village) -> list[list[tuple[Person, str]]]:
        """A lineage: the elder couple (or what is left of it) and their sons' households."""
        rng = self.rng
        fam = self.family_surname(v)
        y0 = rng.randint(1925, 1978) if rng.random() < 0.85 else rng.randint(1979, 1998)
        elder = self.person(fam, "M", y0, v)
        elder_alive = self.alive(elder)
        households = self.family(elder, v, 1)
        own = households[0]
        if not elder_alive:
            own = [(p, r) for p, r in own if p is not elder]
            if own and own[0][1] == "spouse":
                own[0] = (own[0][0], "head")
                households[0] = own
            elif own:
                # no parents left: the married son living here (else the eldest child) heads the household
                new_head = next((p for p, r in own if r == "child" and p.spouse is not None), own[0][0])
                households[0] = [(new_head, "head")] + [
                    (p, self.relation_to(new_head, p)) for p, _ in own if p is not new_head
                ]
            else:
                households = households[1:]
        # elders alone may move in with a married son
        if households and len(households) > 1 and rng.random() < 0.3:
            first = households[0]
            elders = (elder, elder.spouse)
            if all(r in ("head", "spouse") and p in elders for p, r in first):
                son_hh = households[1]
                if len(son_hh) + len(first) <= 6 and son_hh[0][1] == "head":
                    son_hh.extend((p, "parent") for p, _ in first)
                    households = households[1:]
        # minors never head a household: drop them if that is what is left
        return [h for h in households if h and age_on(h[0][0].bdate) >= 16]

    @staticmethod
    def relation_to(head: Person, p: Person) -> str:
        if p is head.spouse:
            return "spouse"
        if p in head.kids:
            return "child"
        if any(p in k.kids for k in head.kids):
            return "grandchild"
        if p.parents and p.parents == head.parents:
            return "sibling"
        return "other"

    def filler(self, v: Village, size: int) -> list[list[tuple[Person, str]]]:
        rng = self.rng
        hhs = []
        for _ in range(size):
            p = self.person(self.family_surname(v), rng.choice("MF"), rng.randint(1935, 1975), v)
            hhs.append([(p, "head")])
        return hhs

    def assign_phones(self, households: list[list[tuple[Person, str]]]) -> None:
        rng = self.rng
        members = [p for hh in households for p, _ in hh]
        for p in members:
            a = age_on(p.bdate)
            own = (
                0.0
                if a < 12
                else 0.3
                if a < 18
                else 0.92
                if a < 60
                else 0.75
                if a < 65
                else 0.45
                if a < 75
                else 0.15
            )
            if rng.random() < own:
                p.phone = self.new_phone()
        for p in members:
            if p.phone:
                continue
            a = age_on(p.bdate)
            if a >= 65:
                r = rng.random()
                sons = [k for k in p.kids if k.placed and k.phone and k.gender == "M"]
                kids = sons or [k for k in p.kids if k.placed and k.phone]
                if r < 0.6 and kids:
                    p.phone = rng.choice(kids).phone
                    self.stats["elder_with_child_phone"] += 1
                elif r < 0.75:
                    p.phone = self.new_phone()  # a child working away, not in the registry
                    self.stats["elder_with_away_child_phone"] += 1
            elif a < 18 and rng.random() < 0.15:
                parents = [q for q in p.parents if q.placed and q.phone]
                if parents:
                    p.phone = rng.choice(parents).phone

    # -- attributes -------------------------------------------------------------------------------------
    def attributes(self, p: Person, urban: bool) -> tuple[str, str, str, str, str, str]:
        rng = self.rng
        a = age_on(p.bdate)
        dis_p = 0.01 if a < 18 else 0.04 if a < 60 else 0.1 if a < 80 else 0.2
        level, dtype, care = "", "", ""
        if rng.random() < dis_p:
            level = str(rng.choice((1, 2, 2, 3, 3, 4, 4, 4)))
            dtype = rng.choice(
                ("physical",) * 4 + ("visual", "hearing", "speech", "intellectual", "mental", "multiple")
            )
            care = "none" if level == "1" and rng.random() < 0.5 else "partial" if level in ("1", "2") else ""
        elif a >= 85 and rng.random() < 0.3:
            care = "partial"
        ill = "true" if rng.random() < (0.01 if a < 40 else 0.04 if a < 65 else 0.09) else ""
        if a < 6:
            emp, inc = "child", 0
        elif a < 16:
            emp, inc = "student", 0
        elif a < 23:
            emp = rng.choices(
                ("student", "employed", "farmer", "unemployed"), (40, 35, 10 if not urban else 0, 15)
            )[0]
            inc = (
                rng.randint(1500, 4500)
                if emp == "employed"
                else rng.randint(300, 1500)
                if emp == "farmer"
                else 0
            )
        elif a < 60:
            if level in ("1", "2"):
                emp = "unable"
            elif urban:
                emp = rng.choices(("employed", "unemployed", "retired"), (75, 15, 10 if a >= 50 else 0))[0]
            else:
                emp = rng.choices(("farmer", "employed", "unemployed"), (50, 38, 12))[0]
            inc = {"employed": rng.randint(1800, 6500), "farmer": rng.randint(400, 2500)}.get(emp, 0)
            if emp == "retired":
                inc = rng.randint(1800, 3800)
        else:
            if a >= 80 or level in ("1", "2") or care == "none":
                emp = rng.choice(("unable", "retired"))
            elif urban:
                emp = "retired"
            else:
                emp = rng.choices(("farmer", "retired", "unable"), (45, 45, 10))[0]
            inc = rng.randint(1800, 4200) if emp == "retired" and urban else rng.randint(150, 400)
            if emp == "farmer":
                inc = rng.randint(300, 1200)
        return level, dtype, care, ill, emp, str(inc) if inc else ""

    # -- writing ----------------------------------------------------------------------------------------
    def lead_weight(self, p: Person) -> float:
        a = age_on(p.bdate)
        return 0.4 if a < 16 else 1.0 if a < 60 else 3.0

    def write_registry(self, out: Path) -> None:
        rng = self.rng
        with (
            (out / "regions.csv").open("w", newline="", encoding="utf-8") as f_reg,
            (out / "households.csv").open("w", newline="", encoding="utf-8") as f_hh,
            (out / "persons.csv").open("w", newline="", encoding="utf-8") as f_p,
        ):
            w_reg, w_hh, w_p = csv.writer(f_reg), csv.writer(f_hh), csv.writer(f_p)
            w_reg.writerow(("code", "name", "level", "parent_code"))
            w_reg.writerow((*PROVINCE, "province", ""))
            w_reg.writerow((*CITY, "city", PROVINCE[0]))
            w_reg.writerow((*COUNTY, "county", CITY[0]))
            for code, name in self.towns:
                w_reg.writerow((code, name, "township", COUNTY[0]))
            for v in self.villages:
                w_reg.writerow((v.code, v.name, "village", v.town))
            w_hh.writerow(("household_id", "region_code", "address", "area_type", "head_id_number"))
            w_p.writerow(
                (
                    "id_number",
                    "name",
                    "gender",
                    "birth_date",
                    "household_id",
                    "relation",
                    "phone",
                    "disability_level",
                    "disability_type",
                    "self_care",
                    "serious_illness",
                    "employment",
                    "monthly_income",
                )
            )
            heap, k = self.heap, self.n_registered_leads
            for vi, v in enumerate(self.villages):
                remaining = v.target
                hh_no = 0
                while remaining > 0:
                    hhs = self.cluster(v) if remaining > 3 else self.filler(v, remaining)
                    size = sum(len(h) for h in hhs)
                    while size > remaining and hhs:
                        size -= len(hhs.pop())
                    if not hhs:
                        continue
                    for hh in hhs:
                        for p, rel in hh:
                            p.placed = True
                            p.relation = rel
                    self.assign_phones(hhs)
                    remaining -= size
                    for hh in hhs:
                        hh_no += 1
                        self.hh_count += 1
                        hid = f"H{v.code}{hh_no:05d}"
                        if v.urban:
                            address = f"{v.town_name}{v.name}{rng.randint(1, 30)}号楼{rng.randint(1, 4)}单元{rng.randint(1, 6)}0{rng.randint(1, 4)}"
                        else:
                            address = f"{v.town_name}{v.name}{rng.randint(1, 8)}组{rng.randint(1, 260)}号"
                        w_hh.writerow((hid, v.code, address, "urban" if v.urban else "rural", hh[0][0].idn))
                        for p, rel in hh:
                            p.hh = hid
                            name = p.name
                            self.names[name] += 1
                            self.village_names[(vi, name)] += 1
                            v.population += 1
                            v.seen += 1
                            if len(v.reservoir) < 64:
                                v.reservoir.append((name, p.gender, p.bdate.year))
                            elif rng.random() < 64 / v.seen:
                                v.reservoir[rng.randrange(64)] = (name, p.gender, p.bdate.year)
                            w_p.writerow(
                                (
                                    p.idn,
                                    name,
                                    p.gender,
                                    p.bdate.isoformat(),
                                    hid,
                                    rel,
                                    p.phone,
                                    *self.attributes(p, v.urban),
                                )
                            )
                            key = rng.random() ** (1.0 / self.lead_weight(p))
                            if len(heap) < k:
                                heapq.heappush(heap, (key, next(self.counter), p))
                            elif key > heap[0][0]:
                                heapq.heapreplace(heap, (key, next(self.counter), p))
        with (out / "standards.csv").open("w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(
                (
                    "county_code",
                    "year",
                    "area_type",
                    "dibao_monthly",
                    "tekun_monthly",
                    "edge_multiplier",
                    "rigid_expense_ratio",
                )
            )
            for area in ("urban", "rural"):
                w.writerow((COUNTY6, 2026, area, 800, 1040, 1.5, 0.3))

    # -- leads --------------------------------------------------------------------------------------------
    def ghost(self, v: Village) -> tuple[Person, str]:
        """Someone living in the village who is not in the registry, often with a registered neighbour's name."""
        rng = self.rng
        kind = rng.choices(
            ("wife_not_transferred", "migrant_back", "neighbour_county", "local_unregistered"), (3, 3, 2, 2)
        )[0]
        if kind == "wife_not_transferred":
            gender, year = "F", rng.randint(1975, 2003)
        elif kind == "migrant_back":
            gender, year = rng.choice("MF"), rng.randint(1955, 2000)
        else:
            gender, year = rng.choice("MF"), rng.randint(1930, 2015)
        surname = (
            self.national_surname()
            if kind in ("wife_not_transferred", "neighbour_county")
            else self.family_surname(v)
        )
        how = f"ghost={kind}"
        given = ""
        if v.reservoir and rng.random() < 0.35:
            same = [r for r in v.reservoir if r[1] == gender and abs(r[2] - year) <= 15]
            if same:
                name, _, ry = rng.choice(same)
                year = max(1925, min(2020, ry + rng.choice((-1, 1)) * rng.randint(3, 12)))
                surname, given = name[0], name[1:]
                if name[:2] in ("欧阳", "司马", "诸葛", "东方"):
                    surname, given = name[:2], name[2:]
                how += ";namesake_forced"
        p = self.person(surname, gender, year, v, given=given, married_in=kind != "local_unregistered")
        if kind == "neighbour_county" and p.idn[:6] in ("372423", "371427"):
            p.idn = self.new_id(p.bdate, gender, rng.choice(NEIGHBOUR_CODES))
        if rng.random() < 0.6 and age_on(p.bdate) >= 14:
            p.phone = self.new_phone()
        return p, how

    def write_leads(self, out: Path) -> None:
        rng = self.rng
        subjects = [(p, "registered", "") for _, _, p in sorted(self.heap, key=lambda t: t[1])]
        rng.shuffle(subjects)
        pops = [v.population for v in self.villages]
        for _ in range(self.l_total - len(subjects)):
            v = rng.choices(self.villages, weights=pops)[0]
            p, how = self.ghost(v)
            subjects.append((p, "not_registered", how))
        rng.shuffle(subjects)
        self.aliases: dict[tuple[str, str], None] = {}
        with (
            (out / "leads.csv").open("w", newline="", encoding="utf-8") as f_l,
            (out / "leads_truth.csv").open("w", newline="", encoding="utf-8") as f_t,
        ):
            w_l, w_t = csv.writer(f_l), csv.writer(f_t)
            w_l.writerow(
                (
                    "record_id",
                    "name",
                    "id_number",
                    "phone",
                    "birth_date",
                    "age",
                    "gender",
                    "region_code",
                    "address_text",
                )
            )
            w_t.writerow(("record_id", "true_id_number", "kind", "underspecified", "how"))
            for i, (p, kind, how0) in enumerate(subjects, 1):
                rid = f"L{i:06d}"
                row, under, how = self.lead(p, kind == "registered")
                if how0:
                    how = f"{how0};{how}"
                w_l.writerow((rid, *row))
                w_t.writerow((rid, p.idn if kind == "registered" else "", kind, int(under), how))
                self.stats[f"lead_{kind}"] += 1
                self.stats[f"lead_underspecified_{kind}"] += int(under)
        with (out / "village_aliases.csv").open("w", newline="", encoding="utf-8") as f:
            w = csv.writer(f)
            w.writerow(("alias", "region_code"))
            for alias, code in sorted(self.aliases):
                w.writerow((alias, code))

    def typo(self, text: str, skip_last: bool = False) -> str:
        positions = [i for i, c in enumerate(text) if c in HOMOPHONES and HOMOPHONES[c]]
        if skip_last and text.endswith(("村", "镇", "乡")):
            positions = [i for i in positions if i < len(text) - 1]
        if not positions:
            return text
        i = self.rng.choice(positions)
        return text[:i] + self.rng.choice(HOMOPHONES[text[i]]) + text[i + 1 :]

    def lead_name(self, p: Person, how: list[str]) -> str:
        rng = self.rng
        r = rng.random()
        s, g = p.surname, p.given
        if s in RARE_SURNAMES and rng.random() < 0.3:
            how.append("name=rare_surname_typed_common")
            return rng.choice(SURNAME_CONFUSIONS[s]) + g
        if r < 0.085:
            g2 = self.typo(g)
            if g2 != g:
                how.append("name=given_homophone")
                return s + g2
        elif r < 0.125:
            if s in SURNAME_CONFUSIONS:
                how.append("name=surname_confusion")
                return rng.choice(SURNAME_CONFUSIONS[s]) + g
        elif r < 0.14:
            if len(g) == 2:
                how.append("name=missing_char")
                return s + g[rng.randrange(2)]
            how.append("name=extra_char")
            return s + rng.choice("小晓") + g
        elif r < 0.15:
            how.append("name=spaced")
            return s + " " + g
        return s + g

    def lead_id(self, p: Person, how: list[str]) -> str:
        rng = self.rng
        idn = p.idn
        kind = rng.choices(
            ("whole", "masked", "last4", "last6", "mistyped", "transposed"), (30, 25, 15, 10, 12, 8)
        )[0]
        how.append(f"id={kind}")
        if kind == "whole":
            return idn.lower() if idn.endswith("X") and rng.random() < 0.3 else idn
        if kind == "masked":
            return idn[:6] + "*" * 8 + idn[-4:] if rng.random() < 0.7 else idn[:4] + "*" * 10 + idn[-4:]
        if kind == "last4":
            return idn[-4:]
        if kind == "last6":
            return idn[-6:]
        if kind == "mistyped":
            i = rng.randrange(17)
            return idn[:i] + rng.choice("0123456789".replace(idn[i], "")) + idn[i + 1 :]
        for _ in range(20):
            i = rng.randrange(17)
            if idn[i] != idn[i + 1]:
                return idn[:i] + idn[i + 1] + idn[i] + idn[i + 2 :]
        return idn

    def fmt_phone(self, number: str) -> str:
        rng = self.rng
        if number.startswith("0534"):
            return number
        f = rng.choices(range(7), (50, 12, 10, 8, 8, 6, 6))[0]
        a, b, c = number[:3], number[3:7], number[7:]
        return (
            number,
            f"{a} {b} {c}",
            f"{a}-{b}-{c}",
            f"+86 {a}-{b}-{c}",
            f"+86{number}",
            f"0086 {number}",
            f"(+86){number}",
        )[f]

    def lead_phone(self, p: Person, registered: bool, anchor: bool, how: list[str]) -> str:
        """The number heard. As an anchor it is one that points at the person or their family in the registry."""
        rng = self.rng
        a = age_on(p.bdate)
        options: list[tuple[str, str, float]] = []
        if p.phone:
            options.append(
                ("own_registered" if registered else "own_unregistered", p.phone, 5.0 if a < 65 else 2.0)
            )
        if registered:
            kid_phones = [k.phone for k in p.kids if k.placed and k.phone and k.phone != p.phone]
            if a >= 60 and kid_phones:
                options.append(("child_registered", rng.choice(kid_phones), 3.0))
            hh_phones = [q.phone for q in self.hh_members(p) if q.phone and q is not p and q.phone != p.phone]
            if hh_phones and (a >= 60 or a < 18):
                options.append(("household_member", rng.choice(hh_phones), 2.0))
        if not anchor:
            if a >= 60:
                options.append(("daughter_unregistered", "", 1.5))
            options.append(("caller_unregistered", "", 1.0))
        if not options:
            return ""
        kind, number, _ = rng.choices(options, weights=[o[2] for o in options])[0]
        if not number:
            number = self.new_phone() if rng.random() < 0.9 else f"0534-{rng.randint(2000000, 8999999)}"
        how.append(f"phone={kind}")
        return self.fmt_phone(number)

    @staticmethod
    def hh_members(p: Person) -> list[Person]:
        near = [*p.kids, *p.parents, *([p.spouse] if p.spouse else [])]
        return [q for q in near if q.placed and q.hh == p.hh]

    def lead_age(self, p: Person, how: list[str]) -> str:
        rng = self.rng
        a = age_on(p.bdate)
        r = rng.random()
        if r < 0.25:
            a2, kind = a + 1, "xusui"
        elif r < 0.45 and a >= 60:
            a2, kind = 5 * round(a / 5), "rounded5"
        else:
            a2, kind = a, "real"
        how.append(f"age={kind}")
        return f"{a2}岁" if rng.random() < 0.25 else str(a2)

    def lead_bdate(self, p: Person, how: list[str]) -> str:
        rng = self.rng
        d = p.bdate
        if rng.random() < 0.15 and d.day <= 12 and d.day != d.month:
            d = dt.date(d.year, d.day, d.month)
            how.append("bdate=day_month_swapped")
        else:
            how.append("bdate=exact")
        f = rng.choices(range(4), (40, 20, 20, 20))[0]
        return (
            d.isoformat(),
            f"{d.year}/{d.month}/{d.day}",
            f"{d.year}年{d.month}月{d.day}日",
            d.strftime("%Y%m%d"),
        )[f]

    def village_text(self, v: Village, how: list[str], identifying: bool) -> str:
        """Free text naming the village (or, when not identifying, possibly just the township)."""
        rng = self.rng
        options = ["exact", "no_cun", "alias", "typo", "landmark", "town_village"]
        weights = [30, 15, 12 if v.alias else 0, 10, 22, 11]
        if not identifying:
            options.append("town_only")
            weights.append(25)
        kind = rng.choices(options, weights)[0]
        how.append(f"addr={kind}")
        if v.urban:
            return self.community_text(v, kind, how)
        base = v.name.removesuffix("村")
        if kind == "exact":
            return v.name
        if kind == "no_cun":
            return base
        if kind == "alias":
            self.aliases[(v.alias, v.code)] = None
            return v.alias + ("村" if rng.random() < 0.4 else "")
        if kind == "typo":
            if rng.random() < 0.75:
                t = self.typo(base)
                if t != base:
                    return t + ("村" if rng.random() < 0.8 else "")
            t = self.typo(v.town_name, skip_last=True)
            if t == v.town_name:
                how[-1] = "addr=exact"
            else:
                how[-1] = "addr=town_typo+village"
            return t + v.name
        if kind == "landmark":
            t = rng.choice(LANDMARKS)
            return t.format(v=v.name if rng.random() < 0.8 else base, t=v.town_name, n=rng.randint(1, 120))
        if kind == "town_village":
            return v.town_name + v.name
        return v.town_name if rng.random() < 0.8 else self.typo(v.town_name, skip_last=True)

    def community_text(self, v: Village, kind: str, how: list[str]) -> str:
        rng = self.rng
        base = v.name.removesuffix("社区")
        if kind in ("exact", "alias"):
            how[-1] = "addr=exact"
            return v.name
        if kind == "no_cun":
            return base + rng.choice(("", "居委会", "街道"))
        if kind == "typo":
            t = self.typo(base)
            if t == base:
                how[-1] = "addr=exact"
            return t + "社区"
        if kind == "landmark":
            t = rng.choice(("{v}{n}号楼", "{v}菜市场对面", "{t}{v}{n}号楼{u}单元", "{v}家属院", "{b}街{n}号"))
            return t.format(v=v.name, t=v.town_name, n=rng.randint(1, 30), u=rng.randint(1, 4), b=base)
        if kind == "town_village":
            return v.town_name + v.name
        return v.town_name

    def lead(self, p: Person, registered: bool) -> tuple[tuple[str, ...], bool, str]:
        rng = self.rng
        how: list[str] = []
        v = p.village
        name = self.lead_name(p, how)
        idn = phone = bdate = age = gender = region = addr = ""
        under = rng.random() < 0.10
        if under:
            how.insert(0, "underspecified=name+township")
            if rng.random() < 0.5:
                region = v.town
            if not region or rng.random() < 0.5:
                addr = v.town_name if rng.random() < 0.85 else self.typo(v.town_name, skip_last=True)
            if rng.random() < 0.3:
                gender = self.fmt_gender(p.gender)
            return (name, idn, phone, bdate, age, gender, region, addr), True, ";".join(how)
        anchors = ["village_age", "phone", "id", "village_bdate"]
        weights = [38, 20 if (p.phone or (registered and p.kids)) else 0, 27, 15]
        anchor = rng.choices(anchors, weights)[0]
        how.insert(0, f"anchor={anchor}")
        if anchor == "id" or rng.random() < 0.25:
            idn = self.lead_id(p, how)
        if anchor == "phone":
            phone = self.lead_phone(p, registered, True, how)
            if not phone:  # nothing points at the family: fall back to the village
                how[0] = "anchor=village_age"
                anchor = "village_age"
        elif rng.random() < 0.4:
            phone = self.lead_phone(p, registered, False, how)
        if anchor == "village_age":
            age = self.lead_age(p, how)
        elif anchor == "village_bdate":
            bdate = self.lead_bdate(p, how)
        else:
            r = rng.random()
            if r < 0.35:
                age = self.lead_age(p, how)
            elif r < 0.5:
                bdate = self.lead_bdate(p, how)
            elif r < 0.55:
                age = self.lead_age(p, how)
                bdate = self.lead_bdate(p, how)
        if rng.random() < 0.4:
            gender = self.fmt_gender(p.gender)
        # place
        place_v = v
        if anchor not in ("village_age", "village_bdate") and rng.random() < 0.03:
            same_town = [w for w in self.villages if w.town == v.town and w is not v]
            if same_town:
                place_v = rng.choice(same_town)
                how.append("place=neighbouring_village")
        if anchor in ("village_age", "village_bdate"):
            if rng.random() < 0.4:
                region = place_v.code
                how.append("region=village")
                if rng.random() < 0.5:
                    addr = self.village_text(place_v, how, identifying=False)
            else:
                if rng.random() < 0.3:
                    region = place_v.town
                    how.append("region=township")
                addr = self.village_text(place_v, how, identifying=True)
        else:
            r = rng.random()
            if r < 0.25:
                region = place_v.code
                how.append("region=village")
            elif r < 0.45:
                region = place_v.town
                how.append("region=township")
            if rng.random() < 0.55:
                addr = self.village_text(place_v, how, identifying=False)
        return (name, idn, phone, bdate, age, gender, region, addr), False, ";".join(how)

    def fmt_gender(self, g: str) -> str:
        return g if self.rng.random() < 0.5 else {"M": "男", "F": "女"}[g]


# ---------------------------------------------------------------------------------------------------------
# Checks


def validate(out: Path) -> dict[str, float]:
    """Read the files back: IDs, genders, birth dates, heads, phone sharing."""
    ids: set[str] = set()
    heads: dict[str, str] = {}
    with (out / "households.csv").open(encoding="utf-8") as f:
        for row in csv.DictReader(f):
            heads[row["household_id"]] = row["head_id_number"]
    head_seen: Counter[str] = Counter()
    bad_relations: Counter[str] = Counter()
    household: list[tuple[str, int]] = []  # (relation, birth year) of the household being read

    def check_household() -> None:
        head_year = next((y for r, y in household if r == "head"), None)
        if head_year is None:
            return
        for rel, y in household:
            gap = y - head_year
            ok = {
                "child": gap >= 15,
                "grandchild": gap >= 30,
                "parent": gap <= -15,
                "spouse": abs(gap) <= 15,
                "sibling": abs(gap) <= 30,
            }.get(rel, True)
            if not ok:
                bad_relations[rel] += 1

    phone_count: Counter[str] = Counter()
    persons = with_phone = elders = elders_shared = 0
    elder_phones: list[str] = []
    valid_codes = {c for codes in (*HOME_CODES, *NEIGHBOUR_CODES) for c in codes[1:]}
    with (out / "persons.csv").open(encoding="utf-8") as f:
        current = ""
        for row in csv.DictReader(f):
            persons += 1
            if row["household_id"] != current:
                check_household()
                household.clear()
                current = row["household_id"]
            household.append((row["relation"], int(row["birth_date"][:4])))
            idn = row["id_number"]
            assert len(idn) == 18 and idn[:17].isdigit(), idn
            assert id_check_char(idn[:17]) == idn[17], idn
            assert idn not in ids, f"duplicate {idn}"
            ids.add(idn)
            assert idn[6:14] == row["birth_date"].replace("-", ""), idn
            assert (int(idn[16]) % 2 == 1) == (row["gender"] == "M"), idn
            year = int(idn[6:10])
            assert idn[:6] in valid_codes and any(
                birthplace(c, year) == idn[:6] or (year == c[0] and idn[:6] in c[1:])
                for c in (*HOME_CODES, *NEIGHBOUR_CODES)
            ), idn
            if row["relation"] == "head":
                head_seen[row["household_id"]] += 1
                assert heads[row["household_id"]] == idn, row["household_id"]
            if row["phone"]:
                with_phone += 1
                phone_count[row["phone"]] += 1
            if age_on(dt.date.fromisoformat(row["birth_date"])) >= 65:
                elders += 1
                if row["phone"]:
                    elder_phones.append(row["phone"])
    check_household()
    assert all(head_seen[h] == 1 for h in heads), "a household without exactly one head"
    assert not bad_relations, f"relations inconsistent with ages: {dict(bad_relations)}"
    elders_shared = sum(1 for ph in elder_phones if phone_count[ph] > 1)
    shared_persons = sum(c for c in phone_count.values() if c > 1)
    return {
        "persons": persons,
        "households": len(heads),
        "persons_with_phone": round(with_phone / persons, 3),
        "persons_whose_phone_is_shared": round(shared_persons / persons, 3),
        "elders_65plus_with_phone": round(len(elder_phones) / max(elders, 1), 3),
        "elders_65plus_on_a_shared_number": round(elders_shared / max(elders, 1), 3),
    }


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--persons", type=int, required=True)
    parser.add_argument("--leads", type=int, required=True)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--seed", type=int, default=20261201)
    parser.add_argument("--no-check", action="store_true", help="skip reading the files back")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    county = County(args.persons, args.leads, args.seed)
    county.make_places()
    county.write_registry(args.out)
    t1 = time.perf_counter()
    county.write_leads(args.out)
    t2 = time.perf_counter()
    n = sum(county.names.values())
    county_share = sum(c for c in county.names.values() if c > 1) / n
    village_share = sum(c for c in county.village_names.values() if c > 1) / n
    dup_villages = Counter(v.name for v in county.villages if not v.urban)
    summary: dict[str, object] = {
        "persons": n,
        "villages": len(county.villages),
        "townships": len(county.towns),
        "village_names_repeated": sorted(k for k, c in dup_villages.items() if c > 1),
        "share_with_county_namesake": round(county_share, 3),
        "share_with_village_namesake": round(village_share, 3),
        "distinct_names": len(county.names),
        "registry_seconds": round(t1 - t0, 1),
        "leads_seconds": round(t2 - t1, 1),
        **{k: v for k, v in sorted(county.stats.items())},
    }
    if not args.no_check:
        summary.update(validate(args.out))
        summary["check_seconds"] = round(time.perf_counter() - t2, 1)
    for k, v in summary.items():
        print(f"{k}: {v}", file=sys.stderr)
    print(
        f"namesakes: {county_share:.1%} of persons share their full name with someone else in the county, "
        f"{village_share:.1%} with someone in their own village"
    )


if __name__ == "__main__":
    main()
