"""Who may do what: every action of the system is a named capability, granted per role, in this one table.

Services check a capability before they change or read anything (`require`); pages and the API show an
action only when `can` says so, from the same table, so what a person is offered and what the server
allows cannot drift apart. A refusal is audited.

Who decides what follows Chinese practice (民发〔2021〕57号 and the assistance measures it cites):
- the village coordinator (村协理员) reports, visits and verifies, explains policies, records the person's
  choice and helps fill in an application; never reviews, decides, approves or pays;
- the township (乡镇/街道) triages leads, accepts and reviews applications (审核), pays temporary
  assistance first within the county's cap (先行救助), and confirms decisions (确认) only where the county
  delegates 审核确认 to townships (a county setting: `Delegation`);
- the county (县级民政) confirms decisions, decides large amounts case by case (一事一议), refers complex
  cases to departments, coordinates; the county administrator also keeps rules, thresholds, settings,
  users and department tokens;
- a department liaison answers its own department's referrals; leaders and auditors read only.
"""

from __future__ import annotations

from enum import StrEnum
from typing import TYPE_CHECKING

from django.core.exceptions import PermissionDenied

from safetynet.access.roles import Role

if TYPE_CHECKING:
    from safetynet.access.models import User
    from safetynet.access.services import Actor


class Cap(StrEnum):
    """A capability: one action (or one kind of read) of the system."""

    # Personal data and oversight
    READ_REGISTRY = "registry.read"
    FULL_IDENTIFIERS = "registry.full_identifiers"  # whole ID numbers and phones instead of masked ones
    SENSITIVE = "registry.sensitive"  # health, disability, income, amounts: what working a case needs
    CALL = "registry.call"  # ring a person of one's region from the page (the number stays off the page)
    READ_STATISTICS = "statistics.read"
    READ_AUDIT = "audit.read"
    MANAGE_USERS = "users.manage"
    # Departmental data
    READ_BATCHES = "lake.batches"  # batches and their quarantined rows
    MANAGE_TOKENS = "lake.tokens"
    # Background work
    READ_JOBS = "jobs.read"  # every job of the county, with its attempts and errors
    MANAGE_SCHEDULES = "jobs.schedules"  # when the nightly run, escalation, checks and reports start
    # Data comparison
    RUN_SCREENING = "screening.run"
    TUNE_RULES = "screening.rules"  # edit the pack, dry runs, comparisons
    READ_WARNINGS = "warnings.read"
    EXPORT_WARNINGS = "warnings.export"
    # Identity resolution
    LOOKUP = "linkage.lookup"  # a social organisation learns only known / not known
    DECIDE_REVIEWS = "linkage.review"
    LINKAGE_SETTINGS = "linkage.settings"
    # Leads
    REPORT_LEAD = "lead.report"  # through the channels of REPORT_CHANNELS
    READ_LEADS = "lead.read"
    EXPORT_LEADS = "lead.export"
    IDENTIFY_LEAD = "lead.identify"  # tie an unidentified lead to a household
    ASSIGN_LEAD = "lead.assign"  # hand an unidentified lead to a village
    # Cases: one capability per step of the intake workflow
    READ_CASES = "case.read"
    EXPORT_CASES = "case.export"
    VERIFY = "case.verify"
    INFORM = "case.inform"
    DECLINE = "case.decline"
    APPLY = "case.apply"
    EXTEND = "case.extend"
    REVIEW = "case.review"  # 审核
    DECIDE = "case.decide"  # 确认
    FOLLOW_UP = "case.follow_up"
    CLOSE = "case.close"
    COORDINATE = "case.coordinate"  # ask for the county's coordination
    REFER = "case.refer"
    GRANT_FIRST = "case.grant_first"
    COMPLETE_PAPERWORK = "case.complete_paperwork"
    APPROVE_AMOUNT = "case.approve_amount"  # 一事一议
    ADD_PHOTOS = "case.photos"
    PRINT_LETTER = "case.letter"
    READ_REFERRALS = "referral.read"
    # The whole ID number of a person referred to one's department: the department must find them in its
    # own system (need to know; each one shown is audited).
    REFERRAL_IDENTITY = "referral.identity"
    ANSWER_REFERRAL = "referral.answer"  # a liaison for their department; the county for an answer on paper
    CASE_SETTINGS = "case.settings"  # deadlines, caps, delegation, amount rules
    # Policies and campaigns
    READ_POLICIES = "policy.read"
    EDIT_POLICIES = "policy.edit"
    DECLARE_CAMPAIGN = "campaign.declare"  # and close it
    VISIT = "campaign.visit"  # read visit tasks and record visits
    CAMPAIGN_PROGRESS = "campaign.progress"


R = Role
VILLAGE = (R.COORDINATOR,)
STAFF = (R.COORDINATOR, R.TOWNSHIP, R.COUNTY, R.COUNTY_ADMIN)  # who work cases
ABOVE_VILLAGE = (R.TOWNSHIP, R.COUNTY, R.COUNTY_ADMIN)
COUNTY = (R.COUNTY, R.COUNTY_ADMIN)
ADMIN = (R.COUNTY_ADMIN,)

GRANTS: dict[Cap, tuple[Role, ...]] = {
    Cap.READ_REGISTRY: (*STAFF, R.HOTLINE),
    Cap.FULL_IDENTIFIERS: ABOVE_VILLAGE,
    # The hotline finds who a caller is and whether a case is open; it needs no one's health or income.
    Cap.SENSITIVE: STAFF,
    # Who visits must be able to call ahead: a village coordinator sees phones masked, yet may ring them.
    Cap.CALL: STAFF,
    Cap.READ_STATISTICS: (*ABOVE_VILLAGE, R.LEADER),
    Cap.READ_AUDIT: (R.COUNTY_ADMIN, R.AUDITOR),
    Cap.MANAGE_USERS: ADMIN,
    Cap.READ_BATCHES: COUNTY,
    Cap.MANAGE_TOKENS: ADMIN,
    Cap.READ_JOBS: ADMIN,
    Cap.MANAGE_SCHEDULES: ADMIN,
    Cap.RUN_SCREENING: COUNTY,
    Cap.TUNE_RULES: ADMIN,
    Cap.READ_WARNINGS: STAFF,
    Cap.EXPORT_WARNINGS: COUNTY,
    Cap.LOOKUP: (*STAFF, R.HOTLINE, R.SOCIAL_ORG),
    Cap.DECIDE_REVIEWS: STAFF,
    Cap.LINKAGE_SETTINGS: ADMIN,
    Cap.REPORT_LEAD: (*STAFF, R.HOTLINE, R.SOCIAL_ORG, R.LIAISON),
    Cap.READ_LEADS: (*STAFF, R.HOTLINE),
    Cap.EXPORT_LEADS: COUNTY,
    Cap.IDENTIFY_LEAD: STAFF,
    Cap.ASSIGN_LEAD: ABOVE_VILLAGE,
    Cap.READ_CASES: STAFF,
    Cap.EXPORT_CASES: COUNTY,
    Cap.VERIFY: STAFF,
    Cap.INFORM: STAFF,
    Cap.DECLINE: STAFF,
    Cap.APPLY: STAFF,
    Cap.EXTEND: ABOVE_VILLAGE,
    Cap.REVIEW: ABOVE_VILLAGE,
    Cap.DECIDE: COUNTY,
    Cap.FOLLOW_UP: STAFF,
    Cap.CLOSE: ABOVE_VILLAGE,
    Cap.COORDINATE: STAFF,
    Cap.REFER: COUNTY,
    Cap.GRANT_FIRST: ABOVE_VILLAGE,
    Cap.COMPLETE_PAPERWORK: ABOVE_VILLAGE,
    Cap.APPROVE_AMOUNT: COUNTY,
    Cap.ADD_PHOTOS: STAFF,
    Cap.PRINT_LETTER: STAFF,
    Cap.READ_REFERRALS: (*ABOVE_VILLAGE, R.LIAISON),
    Cap.REFERRAL_IDENTITY: (*ABOVE_VILLAGE, R.LIAISON),
    Cap.ANSWER_REFERRAL: (*COUNTY, R.LIAISON),
    Cap.CASE_SETTINGS: ADMIN,
    Cap.READ_POLICIES: (*STAFF, R.HOTLINE),
    Cap.EDIT_POLICIES: COUNTY,
    Cap.DECLARE_CAMPAIGN: ABOVE_VILLAGE,
    Cap.VISIT: STAFF,
    Cap.CAMPAIGN_PROGRESS: (*STAFF, R.LEADER),
}

# Capabilities a county may grant to more roles, where counties differ: 审核确认 delegated to townships.
DELEGABLE: dict[Cap, tuple[Role, ...]] = {Cap.DECIDE: (R.TOWNSHIP,)}

# The channels each role reports leads through; data-comparison warnings come only from screening runs.
REPORT_CHANNELS: dict[str, tuple[str, ...]] = {
    R.COORDINATOR: ("visit", "self_report"),
    R.TOWNSHIP: ("patrol", "visit", "self_report"),
    R.COUNTY: ("hotline", "patrol", "referral", "self_report"),
    R.COUNTY_ADMIN: ("hotline", "patrol", "referral", "self_report"),
    R.HOTLINE: ("hotline",),
    R.SOCIAL_ORG: ("social_org",),
    R.LIAISON: ("referral",),
}

LABELS: dict[Cap, str] = {
    Cap.READ_REGISTRY: "查阅辖区内的人员和家庭",
    Cap.FULL_IDENTIFIERS: "查看完整身份证号和电话",
    Cap.SENSITIVE: "查看健康、残疾、收入和救助金额",
    Cap.CALL: "一键拨打辖区内人员电话（号码不显示，留审计记录）",
    Cap.READ_STATISTICS: "查看统计",
    Cap.READ_AUDIT: "查阅审计日志",
    Cap.MANAGE_USERS: "管理用户账号",
    Cap.READ_BATCHES: "查看部门数据批次和隔离行",
    Cap.MANAGE_TOKENS: "签发部门推送令牌",
    Cap.READ_JOBS: "查看后台任务及其失败记录",
    Cap.MANAGE_SCHEDULES: "设置定时任务（夜间比对、逾期上提、数据时效检查、月报）",
    Cap.RUN_SCREENING: "发起数据比对",
    Cap.TUNE_RULES: "调整预警规则、回测和对比",
    Cap.READ_WARNINGS: "查看预警",
    Cap.EXPORT_WARNINGS: "导出预警",
    Cap.LOOKUP: "查询身份（社会组织仅知是否在册）",
    Cap.DECIDE_REVIEWS: "处理待确认的身份匹配",
    Cap.LINKAGE_SETTINGS: "设置身份匹配阈值",
    Cap.REPORT_LEAD: "报告线索",
    Cap.READ_LEADS: "查看辖区线索",
    Cap.EXPORT_LEADS: "导出线索名单",
    Cap.IDENTIFY_LEAD: "为身份未明的线索确认家庭",
    Cap.ASSIGN_LEAD: "将线索分派到村（社区）",
    Cap.READ_CASES: "查看个案",
    Cap.EXPORT_CASES: "导出个案名单",
    Cap.VERIFY: "实地查访核实",
    Cap.INFORM: "主动告知政策",
    Cap.DECLINE: "记录本人自愿放弃",
    Cap.APPLY: "协助申请",
    Cap.EXTEND: "审批延期",
    Cap.REVIEW: "审核",
    Cap.DECIDE: "审批确认",
    Cap.FOLLOW_UP: "动态跟踪回访",
    Cap.CLOSE: "结案",
    Cap.COORDINATE: "提请县级统筹",
    Cap.REFER: "部门转介",
    Cap.GRANT_FIRST: "先行救助（县定权限内）",
    Cap.COMPLETE_PAPERWORK: "确认先行救助手续",
    Cap.APPROVE_AMOUNT: "一事一议审批",
    Cap.ADD_PHOTOS: "上传查访照片",
    Cap.PRINT_LETTER: "打印告知书",
    Cap.READ_REFERRALS: "查看部门转介",
    Cap.REFERRAL_IDENTITY: "查看转介对象的完整身份证号",
    Cap.ANSWER_REFERRAL: "答复部门转介",
    Cap.CASE_SETTINGS: "设置办理时限、救助权限和审批层级",
    Cap.READ_POLICIES: "查阅政策目录",
    Cap.EDIT_POLICIES: "维护政策目录",
    Cap.DECLARE_CAMPAIGN: "部署和结束集中排查",
    Cap.VISIT: "集中排查走访",
    Cap.CAMPAIGN_PROGRESS: "查看集中排查进度",
}


class NotPermitted(PermissionDenied):
    """The actor's role does not hold the capability (in their county). Nothing was done."""

    def __init__(self, cap: Cap, role: str):
        super().__init__(f"role {role} may not {cap.value}")
        self.cap = cap
        self.message = f"您的角色无权{LABELS[cap]}"


def granted(user: User) -> frozenset[str]:
    """Every capability the user holds: their role's, plus what their county delegates to the role."""
    if not user.is_active or not user.role:
        return frozenset()
    caps = {cap.value for cap, roles in GRANTS.items() if user.role in roles}
    delegable = [cap for cap, roles in DELEGABLE.items() if user.role in roles]
    if delegable and user.region_id:
        from safetynet.access.models import Delegation

        caps |= set(
            Delegation.objects.filter(
                county_code=user.region_id[:6], role=user.role, capability__in=delegable
            ).values_list("capability", flat=True)
        )
    return frozenset(caps)


def can(user: User, cap: Cap) -> bool:
    return cap.value in user.caps


def require(actor: Actor, cap: Cap, *, target: str = "") -> None:
    """Raise NotPermitted (a 403) unless the actor holds `cap`; the refusal goes into the audit trail.

    Call it before opening the transaction of the action, so the audit entry is not rolled back with it.
    """
    if can(actor.user, cap):
        return
    from safetynet.access.services import record

    record(actor, "denied", "capability", cap.value, region_code=actor.user.region_id or "", detail=target)
    raise NotPermitted(cap, actor.user.role)


def holders(cap: Cap) -> tuple[Role, ...]:
    """The roles the table grants `cap` to (before any county's delegation)."""
    return GRANTS[cap]


ROLE_COLUMNS = {
    Role.COORDINATOR: "village",
    Role.TOWNSHIP: "township",
    Role.COUNTY: "county",
    Role.COUNTY_ADMIN: "admin",
    Role.HOTLINE: "hotline",
    Role.SOCIAL_ORG: "NGO",
    Role.LIAISON: "liaison",
    Role.LEADER: "leader",
    Role.AUDITOR: "auditor",
}


def markdown_table() -> str:
    """The table as docs/architecture.md shows it (a test keeps the page equal to this)."""
    lines = [
        "| capability | what it allows | " + " | ".join(ROLE_COLUMNS.values()) + " |",
        "| --- | --- | " + " | ".join("---" for _ in ROLE_COLUMNS) + " |",
    ]
    for cap in Cap:
        cells = [
            "✓" if role in GRANTS[cap] else "county may delegate" if role in DELEGABLE.get(cap, ()) else ""
            for role in ROLE_COLUMNS
        ]
        lines.append(f"| `{cap.value}` | {LABELS[cap]} | " + " | ".join(cells) + " |")
    return "\n".join(lines)
