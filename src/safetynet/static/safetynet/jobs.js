// A job's page: poll its status every second and move the bar; when it is done, show (or go to) the result.
(function () {
  const card = document.querySelector("[data-testid=job]");
  if (!card) return;
  const url = card.dataset.statusUrl;
  const follow = card.dataset.follow === "1";
  const el = (id) => card.querySelector(`[data-testid=${id}]`);
  async function poll() {
    let state;
    try {
      const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
      if (!response.ok) return setTimeout(poll, 3000);
      state = await response.json();
    } catch (e) {
      return setTimeout(poll, 3000);
    }
    el("job-status").textContent = state.status_label;
    el("job-note").textContent = state.note;
    el("job-progress").value = state.percent;
    el("job-percent").textContent = `${state.percent}%`;
    el("job-summary").textContent = state.summary;
    const started = document.querySelector("[data-testid=job-started]");
    const attempts = document.querySelector("[data-testid=job-attempts]");
    if (started) started.textContent = state.started;
    if (attempts) attempts.textContent = state.attempts_text;
    if (state.url) {
      el("job-result").href = state.url;
      el("job-result").hidden = false;
    }
    if (!state.finished) return setTimeout(poll, 1000);
    el("job-waiting").hidden = true;
    if (state.status === "done" && follow && state.url) window.location.assign(state.url);
    else if (state.status === "failed") window.location.reload(); // shows the record of each attempt
  }
  if (!card.querySelector("[data-testid=job-waiting]").hidden) setTimeout(poll, 500);
})();
