"""The default policy catalog a county starts from (`safetynet policies seed`), to be edited to local rules.

Conditions are a first screen over registry facts only, so each one is honest about what it cannot see
(assets, support obligations, the cause of an emergency): the summary says what is checked on application.
"""

from __future__ import annotations

from typing import Any

TOWNSHIP_OFFICE = "乡镇人民政府（街道办事处）社会救助窗口或村（社区）协理员"
HOTLINE = "12345 政务服务便民热线"

DEFAULT_POLICIES: list[dict[str, Any]] = [
    {
        "code": "dibao",
        "title": "最低生活保障",
        "department": "civil_affairs",
        "summary": "共同生活家庭成员人均收入低于当地低保标准，且家庭财产状况符合规定的，可按差额享受低保金。"
        "财产状况（存款、车辆、房产等）在申请后由经济状况核对确认。",
        "conditions": [
            {"fact": "income_ratio", "op": "<", "value": 1},
            {"fact": "is_covered", "op": "==", "value": False},
        ],
        "how_to_apply": f"由户主或家庭成员向户籍所在地{TOWNSHIP_OFFICE}提出，也可通过网上申请；"
        "本人申请有困难的，可委托村（居）民委员会或他人代为提出，工作人员协助填表。",
        "contacts": f"县民政局社会救助股；{HOTLINE}",
    },
    {
        "code": "tekun",
        "title": "特困人员救助供养",
        "department": "civil_affairs",
        "summary": "无劳动能力、无生活来源、且无法定赡养抚养扶养义务人（或义务人无履行能力）的老年人、残疾人和"
        "未成年人，可申请特困供养，享受基本生活费和照料护理补贴，可选择分散或集中供养。"
        "是否有法定义务人在申请后核实。",
        "conditions": [
            {"fact": "no_able_worker", "op": "==", "value": True},
            {"fact": "income_ratio", "op": "<", "value": 1},
            {"fact": "members", "op": "<=", "value": 1},
            {"fact": "programs", "op": "excludes", "value": "tekun"},
        ],
        "how_to_apply": f"本人向户籍所在地{TOWNSHIP_OFFICE}提出，本人申请有困难的可委托村（居）民委员会代为提出。",
        "contacts": f"县民政局社会救助股；{HOTLINE}",
    },
    {
        "code": "temporary_expense",
        "title": "临时救助（支出型）",
        "department": "civil_affairs",
        "summary": "因疾病等刚性支出较大，导致基本生活暂时出现严重困难的家庭，可申请临时救助；"
        "情况紧急的可先行救助，后补手续。",
        "conditions": [
            {"fact": "medical_hardship", "op": "==", "value": True},
        ],
        "how_to_apply": f"向{TOWNSHIP_OFFICE}提出，携带身份证、医疗费用票据等支出凭证；急难情形可直接向乡镇（街道）求助。",
        "contacts": f"县民政局社会救助股；{HOTLINE}",
    },
    {
        "code": "medical_assistance",
        "title": "医疗救助",
        "department": "medical_insurance",
        "summary": "低保对象、特困人员、低保边缘家庭成员、防止返贫监测对象及因病致贫重病患者，"
        "经基本医保、大病保险报销后的政策范围内个人自付费用，按规定比例给予救助。",
        "conditions": [
            {"fact": "medical_hardship", "op": "==", "value": True},
            {"fact": "income_ratio", "op": "<=", "value": 2},
        ],
        "how_to_apply": "低保、特困等对象在定点医院出院时“一站式”结算；其他人员持病历、费用票据向乡镇（街道）或县医保局申请。",
        "contacts": f"县医疗保障局；{HOTLINE}",
    },
    {
        "code": "insurance_subsidy",
        "title": "城乡居民医保参保资助",
        "department": "medical_insurance",
        "summary": "特困人员参加城乡居民基本医疗保险的个人缴费部分给予全额资助，低保对象给予定额资助。",
        "conditions": [{"fact": "is_covered", "op": "==", "value": True}],
        "how_to_apply": "无需另行申请，由民政、医保部门比对名单后资助；如未享受请向村（社区）或乡镇（街道）反映。",
        "contacts": f"县医疗保障局；{HOTLINE}",
    },
    {
        "code": "education_aid",
        "title": "家庭经济困难学生资助",
        "department": "education",
        "summary": "学前教育至高等教育阶段家庭经济困难学生，可按规定享受保育教育费减免、免学费、国家助学金、"
        "生活费补助等资助；低保、特困家庭学生优先。",
        "conditions": [
            {"fact": "has_student", "op": "==", "value": True},
            {"fact": "income_ratio", "op": "<=", "value": 1.5},
        ],
        "how_to_apply": "每学期开学后向就读学校提出，填写家庭经济困难学生认定申请表，学校认定后发放。",
        "contacts": f"县教育和体育局学生资助管理中心；就读学校；{HOTLINE}",
    },
    {
        "code": "rural_housing",
        "title": "农村低收入群体等重点对象危房改造",
        "department": "housing",
        "summary": "农村低保户、低保边缘家庭、分散供养特困人员等低收入群体的住房经鉴定为危房的，"
        "可申请改造补助；房屋安全等级在申请后鉴定。",
        "conditions": [
            {"fact": "area_type", "op": "==", "value": "rural"},
            {"fact": "income_ratio", "op": "<=", "value": 1.5},
        ],
        "how_to_apply": "户主向村民委员会提出书面申请，经乡镇审核、房屋安全鉴定后，报县住房城乡建设局审批。",
        "contacts": f"县住房和城乡建设局村镇股；{HOTLINE}",
    },
    {
        "code": "employment_aid",
        "title": "就业援助（就业困难人员认定）",
        "department": "human_resources",
        "summary": "低保家庭、低收入家庭中有劳动能力的失业人员，可认定为就业困难人员，享受公益性岗位安置、"
        "免费职业培训、社保补贴和就业推荐等援助。",
        "conditions": [
            {"fact": "has_unemployed", "op": "==", "value": True},
            {"fact": "income_ratio", "op": "<=", "value": 1.5},
        ],
        "how_to_apply": "失业人员本人持身份证到乡镇（街道）人力资源和社会保障所进行失业登记并申请认定。",
        "contacts": f"县人力资源和社会保障局就业服务中心；{HOTLINE}",
    },
    {
        "code": "disability_living",
        "title": "困难残疾人生活补贴",
        "department": "disabled_federation",
        "summary": "低保家庭中的持证残疾人，按月发放生活补贴（与低保金同时享受）。",
        "conditions": [
            {"fact": "has_disabled", "op": "==", "value": True},
            {"fact": "programs", "op": "includes", "value": "dibao"},
        ],
        "how_to_apply": "残疾人本人或监护人持残疾人证向户籍所在地乡镇（街道）提出，也可网上申请。",
        "contacts": f"县残疾人联合会；县民政局；{HOTLINE}",
    },
    {
        "code": "disability_care",
        "title": "重度残疾人护理补贴",
        "department": "disabled_federation",
        "summary": "残疾等级为一级、二级且需要长期照护的重度残疾人，按月发放护理补贴，不设收入条件。",
        "conditions": [{"fact": "has_severe_disability", "op": "==", "value": True}],
        "how_to_apply": "残疾人本人或监护人持残疾人证向户籍所在地乡镇（街道）提出，也可网上申请。",
        "contacts": f"县残疾人联合会；县民政局；{HOTLINE}",
    },
    {
        "code": "elderly_allowance",
        "title": "高龄津贴",
        "department": "civil_affairs",
        "summary": "80 周岁及以上老年人按月享受高龄津贴，标准随年龄段提高；各县可对低保家庭老人另行提高。",
        "conditions": [{"fact": "has_elderly_80", "op": "==", "value": True}],
        "how_to_apply": "老人或家属持身份证、户口簿到村（社区）或乡镇（街道）登记，核实后按月发放。",
        "contacts": f"县民政局养老服务股；{HOTLINE}",
    },
    {
        "code": "elderly_visits",
        "title": "独居、失能老年人探访关爱",
        "department": "civil_affairs",
        "summary": "独居、空巢、失能等特殊困难老年人，由村（社区）、社会工作者或志愿者定期探访，"
        "了解生活和健康状况，遇到困难及时转介帮扶。",
        "conditions": [{"fact": "elderly_alone", "op": "==", "value": True}],
        "how_to_apply": "无需申请，村（社区）将老人纳入探访名单；老人或家属也可向村（社区）提出探访需求。",
        "contacts": f"村（社区）协理员；县民政局养老服务股；{HOTLINE}",
    },
    {
        "code": "relapse_monitoring",
        "title": "防止返贫监测帮扶",
        "department": "rural_revitalisation",
        "summary": "农村家庭因病、因灾、因意外等收入骤减或支出骤增，人均收入低于监测范围的，"
        "可纳入防止返贫监测，落实产业、就业、兜底等针对性帮扶。监测范围以当年公布的标准为准。",
        "conditions": [
            {"fact": "area_type", "op": "==", "value": "rural"},
            {"fact": "income_ratio", "op": "<=", "value": 1.5},
            {"fact": "programs", "op": "excludes", "value": "relapse_monitoring"},
        ],
        "how_to_apply": "农户向村民委员会提出（农户自主申报），经村级评议、乡镇审核后由县乡村振兴部门确认。",
        "contacts": f"县农业农村局（乡村振兴）；{HOTLINE}",
    },
    {
        "code": "legal_aid",
        "title": "法律援助",
        "department": "justice",
        "summary": "经济困难的公民在追索劳动报酬、赡养费、抚养费、医疗事故和工伤赔偿等事项上，可申请免费法律咨询、"
        "代理和刑事辩护；低保、特困人员免予经济困难审查。",
        "conditions": [{"fact": "income_ratio", "op": "<=", "value": 2}],
        "how_to_apply": "向县法律援助中心或乡镇司法所申请，携带身份证和案件材料；12348 公共法律服务热线可咨询。",
        "contacts": "县法律援助中心；12348 公共法律服务热线",
    },
    {
        "code": "winter_heating",
        "title": "冬季取暖救助",
        "department": "civil_affairs",
        "summary": "冬季对农村低保对象和分散供养特困人员发放取暖补助，保障基本取暖需求。",
        "conditions": [
            {"fact": "is_covered", "op": "==", "value": True},
            {"fact": "area_type", "op": "==", "value": "rural"},
        ],
        "how_to_apply": "无需另行申请，由乡镇（街道）按低保、特困名单发放；未收到的请向村（社区）反映。",
        "contacts": f"县民政局社会救助股；{HOTLINE}",
    },
]
