// On a phone a wide list reads as cards (app.css, table.cards): each cell is given its column's heading
// to show before it, so a card says "办理期限：2026-06-19" rather than a bare date.
document.addEventListener("DOMContentLoaded", () => {
  for (const table of document.querySelectorAll("table.cards")) {
    const headings = [...table.querySelectorAll("thead th")].map((th) => th.textContent.trim());
    for (const row of table.querySelectorAll("tbody tr")) {
      [...row.children].forEach((cell, i) => {
        if (headings[i] && cell.colSpan === 1) cell.dataset.label = headings[i];
      });
    }
  }
});
