// Live candidates for the "who is this?" form: asks the API as the user types (debounced) and shows
// the answer with textContent only, so nothing typed or returned is ever parsed as HTML.
(function () {
  const form = document.getElementById("lookup");
  if (!form || form.dataset.knownOnly === "1" && form.dataset.submits) return; // reporters see no registry
  const status = document.getElementById("status");
  const table = document.querySelector("[data-testid=candidates]");
  const body = table.querySelector("tbody");
  const knownOnly = form.dataset.knownOnly === "1";
  const chosen = form.dataset.submits && form.elements.household_id ? document.getElementById("chosen") : null;
  const labels = {match: "同一人（自动认定）", review: "需人工确认", unknown: "未能确定"};
  let timer = null;
  let latest = 0;

  function cell(row, text, cls) {
    const td = document.createElement("td");
    td.textContent = text;
    if (cls) td.className = cls;
    row.appendChild(td);
  }

  async function ask() {
    const params = new URLSearchParams(new FormData(form));
    for (const [k, v] of [...params]) if (!v.trim()) params.delete(k);
    if (!params.has("name") && !params.has("id_number") && !params.has("phone")) {
      status.textContent = "请输入姓名、身份证号或电话";
      table.hidden = true;
      return;
    }
    const ticket = ++latest;
    status.textContent = "查找中…";
    const response = await fetch(form.dataset.api + "?" + params, {headers: {Accept: "application/json"}});
    if (ticket !== latest) return; // a newer keystroke's answer is coming
    const data = await response.json().catch(() => ({}));
    if (!response.ok) {
      status.textContent = data.detail || "查找失败";
      table.hidden = true;
      return;
    }
    if (knownOnly) {
      status.textContent = data.known ? "此人在登记库中有记录（已知）" : "登记库中未找到此人";
      return;
    }
    body.replaceChildren();
    for (const c of data.candidates) {
      const row = document.createElement("tr");
      row.dataset.decision = data.decision;
      cell(row, (c.probability * 100).toFixed(1) + "%", "num");
      cell(row, c.name);
      cell(row, c.id_number, "mono");
      cell(row, String(c.birth_year));
      cell(row, c.household_id, "mono");
      cell(row, c.explanation, "wrap");
      if (chosen) {
        // On the lead form: this person's household takes the lead, whatever the matcher decided.
        const td = document.createElement("td");
        const pick = document.createElement("button");
        pick.type = "button";
        pick.textContent = "选择此人";
        pick.dataset.testid = "choose";
        pick.addEventListener("click", () => {
          form.elements.household_id.value = c.household_id;
          chosen.textContent = "已选择：" + c.name + "（" + c.id_number + "，家庭 " + c.household_id + "），提交后线索直接归入该户";
          chosen.hidden = false;
        });
        td.appendChild(pick);
        row.appendChild(td);
      }
      body.appendChild(row);
    }
    table.hidden = data.candidates.length === 0;
    const place = data.place ? "；住址：" + data.place : "";
    status.textContent = (data.candidates.length ? labels[data.decision] : "登记库中没有可能的对象") + place;
  }

  form.addEventListener("input", () => {
    clearTimeout(timer);
    timer = setTimeout(ask, 250);
  });
  // A lookup-only form asks on Enter; a form that submits (reporting a lead) posts as usual.
  if (!form.dataset.submits) form.addEventListener("submit", (event) => { event.preventDefault(); ask(); });
  // Opened from the person search with what was typed there: ask at once.
  if (!form.dataset.submits && [...new FormData(form).values()].some((v) => String(v).trim())) ask();
})();
