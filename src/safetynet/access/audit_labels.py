"""The audit trail in words an auditor reads: each entry's action, object and purpose are stored as codes
(stable, for exports and queries) and shown in Chinese. Apps above `access` add their own labels at start
(the case steps: cases/apps.py), so this table never imports them. An unknown code is shown as it is."""

from __future__ import annotations

import re
from typing import Any

ACTIONS: dict[str, str] = {
    "read": "查阅",
    "call": "拨打电话",
    "login": "登录",
    "login_failed": "登录失败",
    "logout": "退出登录",
    "denied": "拒绝访问",
    "rate_limited": "查询过频，已限制",
    "password_change": "修改密码",
    "second_factor": "两步验证通过",
    "second_factor_enrolled": "启用两步验证",
    "second_factor_failed": "两步验证失败",
    "create_user": "创建账号",
    "report_lead": "报告线索",
    "assign_lead": "分派线索",
    "case_escalate": "逾期升级",
    "case_photos": "上传查访照片",
    "case_settings": "修改办理期限和限额",
    "change_rule_pack": "修改规则包",
    "screen": "运行数据比对",
    "declare_campaign": "发起集中排查",
    "record_visit": "记录走访",
    "close_campaign": "结束集中排查",
    "create_policy": "新增政策",
    "update_policy": "修改政策",
    "seed_policies": "导入默认政策目录",
    "notification_letter": "打印告知书",
    "referral_answer": "答复转介",
    "export": "导出",
    "push": "部门推送数据",
    "issue_token": "签发部门令牌",
    "revoke_token": "吊销部门令牌",
    "rotate_keys": "轮换加密密钥",
    "backup": "备份",
    "restore": "从备份恢复",
    "linkage_known": "核查是否在册（社会组织）",
    "linkage_review": "身份匹配复核",
    "linkage_thresholds": "修改身份匹配阈值",
}

OBJECTS: dict[str, str] = {
    "audit_trail": "审计记录",
    "batch": "数据批次",
    "campaign": "集中排查",
    "campaign_tasks": "走访任务列表",
    "capability": "权限",
    "case": "个案",
    "case_photo": "查访照片",
    "cases": "个案列表",
    "county": "县",
    "department_token": "部门令牌",
    "keys": "加密密钥",
    "case_list": "个案名单",
    "lead_list": "线索名单",
    "backup": "备份",
    "household": "家庭",
    "inbox": "待办",
    "lead": "线索",
    "leads": "线索列表",
    "linkage_lookup": "身份查询",
    "linkage_model": "身份匹配模型",
    "linkage_review": "身份复核",
    "linkage_reviews": "身份复核列表",
    "person_search": "人员查询",
    "policy": "政策",
    "policy_match": "适用政策",
    "push": "数据推送",
    "quarantine": "隔离数据",
    "rate_limit": "查询限额",
    "referral": "转介",
    "referrals": "转介列表",
    "rule_pack": "规则包",
    "run": "比对运行",
    "user": "账号",
    "visit_task": "走访任务",
    "warning": "预警",
    "warning_list": "预警列表",
}

# Why a page or route read what it read (Actor.purpose); "api …" is the same purpose through the API.
PURPOSES: dict[str, str] = {
    "audit review": "审计查阅",
    "key rotation": "密钥轮换",
    "backup": "备份与恢复",
    "campaign progress": "排查进度",
    "campaign visits": "排查走访",
    "campaign tasks": "走访任务",
    "campaigns": "集中排查",
    "case": "个案办理",
    "case photo": "查看查访照片",
    "case photos": "查访照片",
    "case step": "个案办理",
    "case settings": "办理期限设置",
    "cases": "个案列表",
    "cases export": "导出个案名单",
    "declare campaign": "发起集中排查",
    "feed administration": "部门数据管理",
    "home page": "首页",
    "household profile": "家庭档案",
    "inbox": "待办",
    "lead": "线索",
    "lead assign": "分派线索",
    "leads inbox": "线索列表",
    "leads export": "导出线索名单",
    "linkage lookup": "身份查询",
    "linkage review": "身份复核",
    "linkage review decision": "身份复核",
    "linkage reviews": "身份复核列表",
    "linkage thresholds": "匹配阈值",
    "notification letter": "告知书",
    "own leads": "我报告的线索",
    "password change": "修改密码",
    "person search": "人员查询",
    "policy": "政策",
    "policy catalog": "政策目录",
    "policy create": "新增政策",
    "policy edit": "修改政策",
    "policy match": "适用政策",
    "policy update": "修改政策",
    "quarantine download": "下载隔离数据",
    "quarantine review": "查看隔离数据",
    "record visit": "记录走访",
    "referral answer": "答复转介",
    "referrals": "转介",
    "report lead": "报告线索",
    "rule backtest": "规则回测",
    "rule pack": "规则包",
    "screening run": "数据比对运行",
    "screening runs": "数据比对运行",
    "second factor": "两步验证",
    "user accounts": "账号管理",
    "warning": "预警",
    "warning export": "导出预警",
    "warning list": "预警列表",
    "warning review": "查看预警",
    "warnings": "预警列表",
    "cli": "命令行",
    "api": "接口",
}


def action(code: str) -> str:
    return ACTIONS.get(code, code)


def object_type(code: str) -> str:
    return OBJECTS.get(code, code)


def purpose(text: str) -> str:
    if text.startswith("api "):
        return "接口：" + PURPOSES.get(text[4:], text[4:])
    return PURPOSES.get(text, text)


# Words inside an entry's detail ("source=medical_claims rows=3", "status=open"): the keys the apps write,
# and codes the apps add in their ready() (feeds, rules, levels, programs, policies), so the trail reads
# in Chinese while the stored detail stays as written.
WORDS: dict[str, Any] = {  # str, or a lazily translated label
    "source": "数据源",
    "rows": "行",
    "rule_id": "规则",
    "run_id": "比对批次",
    "level": "等级",
    "status": "状态",
    "household": "家庭",
    "region": "区划",
    "policies": "政策",
    "campaign": "排查",
    "batch": "批次",
    "department": "部门",
    "null": "空",
    "none": "无",
    "true": "是",
    "false": "否",
    "True": "是",
    "False": "否",
    "None": "无",
    "open": "办理中",
    "closed": "已办结",
    "dry_run": "试运行",
    "as_of": "比对日期",
    "version": "版本",
    "program": "救助类别",
    "amount": "金额",
    "reason": "原因",
    "households": "户",
    "persons": "人",
    "warnings": "预警",
    "cases": "个案",
    "stage": "阶段",
    "channel": "渠道",
    "overdue": "逾期",
    "all": "全部",
    "leads": "线索",
    "audit_entries": "审计记录",
    "lake_batches": "数据批次",
    "database": "数据库",
    "photos": "照片",
    "lake_files": "数据湖文件",
    "xlsx": "Excel",
    "csv": "CSV",
    "duckdb": "DuckDB",
    "spark": "Spark",
}
WORD = re.compile(r"(?<![A-Za-z0-9_])(?:[a-z][a-z_]{2,}|True|False|None)(?![A-Za-z0-9_])")


def detail(text: str) -> str:
    return WORD.sub(lambda m: str(WORDS.get(m.group(0), m.group(0))), text)
