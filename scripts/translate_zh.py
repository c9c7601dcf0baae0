"""Fill the zh_Hans catalogue from the table below and compile it (run after `makemessages`)."""

from __future__ import annotations

from pathlib import Path

import polib

ZH = {
    "village coordinator": "村（社区）协理员",
    "township staff": "乡镇（街道）民政",
    "county staff": "县级民政",
    "county administrator": "县级管理员",
    "hotline operator": "热线接线员",
    "social organisation": "社会组织",
    "department liaison": "部门联络员",
    "leader / analyst": "领导/分析",
    "auditor": "审计员",
    "Audit trail": "审计记录",
    "Username": "用户名",
    "Household or record ID": "户编号或记录编号",
    "Filter": "筛选",
    "Time": "时间",
    "User": "用户",
    "Action": "操作",
    "Object": "对象",
    "Purpose": "用途",
    "Detail": "详情",
    "No entries.": "暂无记录。",
    "Home": "首页",
    "Welcome, %(name)s": "您好，%(name)s",
    "households": "户",
    "persons": "人",
    "households on dibao or tekun": "低保、特困户",
    "Find a person or household": "查找人员或家庭",
    "ID number, phone or name": "身份证号、电话或姓名",
    "Search": "查询",
    "Report a lead": "报告救助线索",
    "Social organisations report people who may need help; you will see the status of the leads you report. "
    "The registry itself is not visible to your role.": "社会组织可报告可能需要帮助的群众，并查看所报线索的办理状态。本角色不能查看救助对象名册。",
    "Department data": "部门数据",
    "Your department pushes its data feeds with an API token; referrals to your department will appear here.": "本部门通过接口令牌推送数据；转介给本部门的事项将显示在这里。",
    "Who read which personal data, when and why": "谁在何时、为何查看了哪些个人信息",
    "Account locked": "账号已锁定",
    "Too many failed logins. Try again in 30 minutes or ask your county administrator.": "登录失败次数过多。请 30 分钟后再试，或联系县级管理员。",
    "Log in": "登录",
    "Wrong username or password. Accounts are locked for 30 minutes after 5 failed attempts.": "用户名或密码错误。连续失败 5 次后账号将锁定 30 分钟。",
    "Password": "密码",
    "province": "省",
    "city": "市",
    "county": "县",
    "township": "乡镇",
    "village": "村",
    "urban": "城市",
    "rural": "农村",
    "male": "男",
    "female": "女",
    "head": "户主",
    "spouse": "配偶",
    "child": "子女",
    "parent": "父母",
    "grandchild": "孙子女",
    "sibling": "兄弟姐妹",
    "other": "其他",
    "none": "无",
    "visual": "视力",
    "hearing": "听力",
    "speech": "言语",
    "physical": "肢体",
    "intellectual": "智力",
    "mental": "精神",
    "multiple": "多重",
    "full": "完全自理",
    "partial": "部分自理",
    "employed": "就业",
    "farmer": "务农",
    "unemployed": "失业",
    "student": "学生",
    "retired": "退休",
    "unable to work": "无劳动能力",
    "dibao": "低保",
    "tekun": "特困供养",
    "dibao edge": "低保边缘",
    "rigid expense": "刚性支出困难",
    "relapse monitoring": "防止返贫监测",
    "temporary assistance": "临时救助",
    "medical assistance": "医疗救助",
    "education assistance": "教育救助",
    "housing assistance": "住房救助",
    "employment assistance": "就业救助",
    "active": "享受中",
    "ended": "已停止",
    "pending": "待审批",
    "approved": "已批准",
    "rejected": "未批准",
    "withdrawn": "已撤回",
    "running": "进行中",
    "done": "已完成",
    "Household": "家庭",
    "Household of %(head)s": "%(head)s 户",
    "yes": "是",
    "no": "否",
    "on dibao or tekun": "是否低保/特困",
    "per-capita monthly income (yuan)": "人均月收入（元）",
    "local dibao standard": "当地低保标准",
    "low income": "是否低收入",
    "Members": "家庭成员",
    "Name": "姓名",
    "ID number": "身份证号码",
    "Relation": "与户主关系",
    "Age": "年龄",
    "Phone": "电话",
    "Disability": "残疾",
    "Employment": "就业状况",
    "Monthly income": "月收入",
    "serious illness": "重病",
    "level %(level)s": "%(level)s 级",
    "Assistance": "救助记录",
    "Person": "人员",
    "Program": "项目",
    "Status": "状态",
    "From": "开始",
    "To": "结束",
    "Monthly amount": "月金额",
    "None.": "无。",
    "Applications": "申请记录",
    "Applied": "申请日期",
    "Decision": "审批结果",
    "Decided": "审批日期",
    "Reason": "理由",
    "Not found": "未找到",
    "No such household in your region.": "您的辖区内没有这一家庭。",
    "%(age)s years": "%(age)s 岁",
    "household": "户",
    "safetynet": "社会救助主动发现",
    "Proactive assistance discovery": "兜底保障 · 早发现早帮扶",
    "Log out": "退出",
    "Language": "语言",
    "Switch": "切换",
    "Not permitted": "无权访问",
    "Your role may not see this page.": "您的角色不能查看此页面。",
}
PLURALS = {"%(n)s person found in your region": "辖区内找到 %(n)s 人"}


def main() -> None:
    po_path = Path(__file__).resolve().parent.parent / "src/safetynet/locale/zh_Hans/LC_MESSAGES/django.po"
    po = polib.pofile(str(po_path))
    missing = []
    for entry in po:
        if entry.msgid in PLURALS:
            entry.msgstr_plural = {0: PLURALS[entry.msgid]}
        elif entry.msgid in ZH:
            entry.msgstr = ZH[entry.msgid]
        else:
            missing.append(entry.msgid)
        if "fuzzy" in entry.flags:
            entry.flags.remove("fuzzy")
    po.metadata["Plural-Forms"] = "nplurals=1; plural=0;"
    po.metadata["Content-Type"] = "text/plain; charset=UTF-8"
    po.save()
    po.save_as_mofile(str(po_path.with_suffix(".mo")))
    if missing:
        raise SystemExit(f"untranslated: {missing}")


if __name__ == "__main__":
    main()
